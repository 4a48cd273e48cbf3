/** Private keys for signing JWTs (SMART Backend Services): parsing, and which algorithm a key can sign with. */
import { createPrivateKey, type JsonWebKey, type KeyObject } from 'node:crypto';

export type JwtKeyAlg = 'RS384' | 'ES384';

/**
 * A private key from text: PEM (PKCS#8, PKCS#1 or SEC1), or a private JWK as JSON.
 * @param text - The key text.
 * @returns The key, or undefined when the text is neither.
 */
export function parsePrivateKey(text: string): KeyObject | undefined {
  try {
    return text.startsWith('{')
      ? createPrivateKey({ key: JSON.parse(text) as JsonWebKey, format: 'jwk' })
      : createPrivateKey({ key: text, format: 'pem' });
  } catch {
    return undefined;
  }
}

/**
 * The algorithm a key signs with: RS384 for RSA (of at least 2048 bits: `tooSmall` otherwise), ES384 for EC P-384.
 * @param key - The private key.
 * @returns The algorithm, or undefined for any other kind of key.
 */
export function jwtAlgOf(key: KeyObject): { alg: JwtKeyAlg; tooSmall: boolean } | undefined {
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails ?? {};
  if (type === 'rsa') return { alg: 'RS384', tooSmall: (details.modulusLength ?? 0) < 2048 };
  if (type === 'ec' && details.namedCurve === 'secp384r1') return { alg: 'ES384', tooSmall: false };
  return undefined;
}
