/**
 * FHIR_AUTH=smart-backend: SMART Backend Services (private_key_jwt). Each token request carries a fresh
 * JWT assertion signed with the client's private key (RS384 or ES384): iss = sub = client_id,
 * aud = the token endpoint, a random jti, exp at most five minutes ahead, `kid` in the header.
 * @medplum/core's own JWT login sends no `scope`, so the request is made here.
 * https://hl7.org/fhir/smart-app-launch/backend-services.html
 */

import type { KeyObject } from 'node:crypto';
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import type { JwtAlg } from '../../config.ts';
import { cachedTokenProvider, type FetchFn, requestToken, type TokenProvider } from './token-provider.ts';

export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** Assertion lifetime; the spec allows at most 300 s, a little less leaves room for clock drift. */
export const ASSERTION_LIFETIME_SECONDS = 240;

export interface ClientAssertionOptions {
  clientId: string;
  tokenUrl: string;
  privateKey: KeyObject;
  keyId: string;
  alg: JwtAlg;
  /** Clock in ms (tests). */
  now?: () => number;
}

/**
 * Signs a client assertion JWT.
 * @param options - Client id, audience (token URL), key, key id, algorithm.
 * @returns The compact JWS.
 */
export async function createClientAssertion(options: ClientAssertionOptions): Promise<string> {
  const nowSeconds = Math.floor((options.now ?? Date.now)() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: options.alg, kid: options.keyId, typ: 'JWT' })
    .setIssuer(options.clientId)
    .setSubject(options.clientId)
    .setAudience(options.tokenUrl)
    .setJti(randomUUID())
    .setIssuedAt(nowSeconds)
    .setExpirationTime(nowSeconds + ASSERTION_LIFETIME_SECONDS)
    .sign(options.privateKey);
}

export interface SmartBackendOptions {
  tokenUrl: () => Promise<string>;
  clientId: string;
  scope: string;
  privateKey: KeyObject;
  keyId: string;
  alg: JwtAlg;
  fetch: FetchFn;
  timeoutMs: number;
  now?: () => number;
}

/**
 * @param options - Token endpoint, client id, scope, signing key.
 * @returns A provider caching the token, re-signing a new assertion for every token request.
 */
export function smartBackendTokenProvider(options: SmartBackendOptions): TokenProvider {
  return cachedTokenProvider(async () => {
    const tokenUrl = await options.tokenUrl();
    const assertion = await createClientAssertion({ ...options, tokenUrl });
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      scope: options.scope,
      client_assertion_type: CLIENT_ASSERTION_TYPE,
      client_assertion: assertion,
    });
    return requestToken(options.fetch, tokenUrl, form, {}, options.timeoutMs);
  }, options.now);
}
