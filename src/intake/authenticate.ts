/**
 * Notification authentication (contract section 4): `Authorization: Bearer <secret>` (HAPI and Backport servers put it
 * in Subscription.channel.header) or `X-Signature` = hex HMAC-SHA256 of the raw body keyed with the secret (Medplum's
 * subscription-secret extension, https://www.medplum.com/docs/subscriptions/subscription-extensions).
 *
 * Both checks compare SHA-256 digests of the presented and expected values with crypto.timingSafeEqual, so the
 * buffers always have the same length and neither the content nor the length of the secret leaks through timing.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { unauthorized } from '../fhir/outcomes.ts';

export type HeaderBag = Record<string, string | string[] | undefined>;

/** The one 401 text: static, never echoing what was presented or which check failed. */
export const UNAUTHENTICATED_TEXT = 'Notification authentication failed';

function digest(value: string | Buffer): Buffer {
  return createHash('sha256').update(value).digest();
}

/** Constant-time string equality over fixed-length digests. */
function safeEqual(presented: string, expected: string): boolean {
  return timingSafeEqual(digest(presented), digest(expected));
}

function single(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/**
 * Accepts the request when either the bearer token equals the secret or X-Signature is the hex HMAC-SHA256 of
 * `rawBody` (lowercase or uppercase hex). Throws a 401 OperationOutcomeError otherwise, including when the secret
 * is empty. Headers are Node's lowercased header object.
 */
export function authenticate(headers: HeaderBag, rawBody: Buffer, secret: string): { ok: true } {
  if (!secret) throw unauthorized(UNAUTHENTICATED_TEXT);

  let ok = false;
  const authorization = single(headers.authorization);
  const bearer = authorization ? /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization)?.[1] : undefined;
  if (bearer !== undefined && safeEqual(bearer, secret)) ok = true;

  const signature = single(headers['x-signature'])?.trim().toLowerCase();
  if (signature !== undefined) {
    const expected = createHmac('sha256', secret).update(rawBody).digest('hex');
    if (safeEqual(signature, expected)) ok = true;
  }

  if (!ok) throw unauthorized(UNAUTHENTICATED_TEXT);
  return { ok: true };
}
