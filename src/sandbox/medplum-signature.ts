/**
 * Medplum rest-hook signatures: `X-Signature` is the lowercase hex HMAC-SHA256 of the exact request body
 * bytes, keyed with the Subscription's secret (extension
 * https://www.medplum.com/fhir/StructureDefinition/subscription-secret, valueString).
 * https://www.medplum.com/docs/subscriptions/subscriptions-basics#signatures
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Hex HMAC-SHA256 of `body` keyed with `secret`, as Medplum puts it in `X-Signature`. */
export function medplumSignature(body: string | Uint8Array, secret: string): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

/** Constant-time check of an `X-Signature` header value against the body and the secret. */
export function verifyMedplumSignature(
  body: string | Uint8Array,
  secret: string,
  signature: string | undefined,
): boolean {
  if (!signature || !/^[0-9a-fA-F]{64}$/.test(signature)) return false;
  const expected = Buffer.from(medplumSignature(body, secret), 'hex');
  const given = Buffer.from(signature, 'hex');
  return expected.length === given.length && timingSafeEqual(expected, given);
}
