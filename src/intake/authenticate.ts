/**
 * Notification authentication (contract section 4): `Authorization: Bearer <secret>` (HAPI and Backport servers put it
 * in Subscription.channel.header) or `X-Signature` = hex HMAC-SHA256 of the raw body keyed with the secret (Medplum's
 * subscription-secret extension, https://www.medplum.com/docs/subscriptions/subscription-extensions), or the same
 * HMAC as `X-Hub-Signature: sha256=<hex>` (WebSub style, as athenahealth signs its events,
 * https://www.w3.org/TR/websub/#signing-content).
 *
 * Both checks compare SHA-256 digests of the presented and expected values with crypto.timingSafeEqual, so the
 * buffers always have the same length and neither the content nor the length of the secret leaks through timing.
 */
import { createHmac } from 'node:crypto';
import { unauthorized } from '../fhir-model/outcomes.ts';
import { constantTimeEqual as safeEqual } from '../util/constant-time.ts';

export type HeaderBag = Record<string, string | string[] | undefined>;

/** The one 401 text: static, never echoing what was presented or which check failed. */
export const UNAUTHENTICATED_TEXT = 'Notification authentication failed';

function single(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

export type AuthMethod = 'bearer' | 'signature';

function bearerMatches(headers: HeaderBag, secret: string): boolean {
  const authorization = single(headers.authorization);
  const bearer = authorization ? /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization)?.[1] : undefined;
  return bearer !== undefined && safeEqual(bearer, secret);
}

/** The presented HMAC in hex: X-Signature as is, or X-Hub-Signature's `sha256=` value (other algorithms: none). */
function presentedSignature(headers: HeaderBag): string | undefined {
  const plain = single(headers['x-signature']);
  if (plain !== undefined) return plain.trim().toLowerCase();
  const hub = single(headers['x-hub-signature'])?.trim();
  if (hub === undefined) return undefined;
  const match = /^sha256=([0-9a-f]+)$/i.exec(hub);
  return match?.[1]?.toLowerCase() ?? '';
}

/**
 * Which credential authenticates the request: `signature` when X-Signature (or X-Hub-Signature `sha256=`) is the hex
 * HMAC-SHA256 of `rawBody` (lowercase or uppercase hex; it binds the body, so it wins when both are valid), else
 * `bearer` when the bearer token equals the secret. Throws a 401 OutcomeError otherwise, including when the secret
 * is empty. Headers are Node's lowercased header object.
 */
export function authenticateRequest(headers: HeaderBag, rawBody: Buffer, secret: string): AuthMethod {
  if (!secret) throw unauthorized(UNAUTHENTICATED_TEXT);
  const signature = presentedSignature(headers);
  if (signature !== undefined) {
    const expected = createHmac('sha256', secret).update(rawBody).digest('hex');
    if (safeEqual(signature, expected)) return 'signature';
  }
  if (bearerMatches(headers, secret)) return 'bearer';
  throw unauthorized(UNAUTHENTICATED_TEXT);
}

/** Accepts the request when either credential is valid (see {@link authenticateRequest}); throws 401 otherwise. */
export function authenticate(headers: HeaderBag, rawBody: Buffer, secret: string): { ok: true } {
  authenticateRequest(headers, rawBody, secret);
  return { ok: true };
}

/**
 * Whether the headers alone leave a chance of authenticating: a valid bearer token, or an X-Signature to check
 * against the body. False means 401 without reading the body, so an unauthenticated client cannot make the server
 * buffer up to the body limit for every request it opens.
 */
export function mayAuthenticate(headers: HeaderBag, secret: string): boolean {
  if (!secret) return false;
  return presentedSignature(headers) !== undefined || bearerMatches(headers, secret);
}
