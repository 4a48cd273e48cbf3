/**
 * Authenticates a CDS Client as the CDS Hooks specification says: `Authorization: Bearer <JWT>` signed with the
 * client's private key (asymmetric algorithms only), `iss` one of CDS_CLIENTS, `aud` the URL of the endpoint being
 * called, `exp`, `iat` and `jti` present, the token not older than 5 minutes, and its `jti` not seen before. Keys come
 * only from CDS_CLIENTS (inline or fetched from the configured `jwks_url`): a `jku` header is never followed.
 * https://cds-hooks.hl7.org/2.0/#trusting-cds-clients
 */
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeJwt,
  type JSONWebKeySet,
  type JWTVerifyGetKey,
  jwtVerify,
} from 'jose';
import type { CdsClient } from '../config/cds-clients.ts';
import { unauthorized } from '../fhir-model/outcomes.ts';

/** Asymmetric JWS algorithms (the specification forbids `none` and HMAC). */
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
const MAX_TOKEN_AGE_SECONDS = 300;
const CLOCK_TOLERANCE_SECONDS = 30;

export interface ClientJwtVerifier {
  /**
   * Verifies the request's token.
   * @param authorization - The Authorization header.
   * @param audiences - The URLs of the endpoint being called, as the client may know them.
   * @returns The client's `iss`.
   * @throws OutcomeError 401 when the token is missing, invalid, untrusted, expired or replayed.
   */
  verify(authorization: string | undefined, audiences: readonly string[]): Promise<string>;
}

export interface ClientJwtOptions {
  clients: readonly CdsClient[];
  /** Records a JWT id; false when already seen (cds-store.ts). */
  claimJwtId: (iss: string, jti: string, expiresAt: Date) => Promise<boolean>;
  /** How long a fetched JWK Set is trusted before it is fetched again (default 10 minutes). */
  jwksCacheMs?: number;
}

/**
 * The verifier for the configured clients; JWK Sets behind `jwks_url` are fetched when first needed and cached.
 * @param options - The trusted clients and the JWT id store.
 * @returns The verifier.
 */
export function createClientJwtVerifier(options: ClientJwtOptions): ClientJwtVerifier {
  const keys = new Map<string, JWTVerifyGetKey>();
  for (const client of options.clients) {
    keys.set(
      client.iss,
      client.jwksUrl
        ? createRemoteJWKSet(new URL(client.jwksUrl), {
            timeoutDuration: 5_000,
            cacheMaxAge: options.jwksCacheMs ?? 600_000,
          })
        : createLocalJWKSet(client.jwks as unknown as JSONWebKeySet),
    );
  }
  return {
    async verify(authorization, audiences) {
      const token = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
      if (!token) throw unauthorized('A signed JWT is required (Authorization: Bearer)');
      let claimedIssuer: unknown;
      try {
        claimedIssuer = decodeJwt(token).iss;
      } catch {
        throw unauthorized('The JWT cannot be decoded');
      }
      const getKey = typeof claimedIssuer === 'string' ? keys.get(claimedIssuer) : undefined;
      if (!getKey) throw unauthorized('The JWT issuer is not a trusted CDS client');
      let payload: Awaited<ReturnType<typeof jwtVerify>>['payload'];
      try {
        ({ payload } = await jwtVerify(token, getKey, {
          issuer: claimedIssuer as string,
          audience: [...audiences],
          algorithms: ALGORITHMS,
          requiredClaims: ['iss', 'aud', 'exp', 'iat', 'jti'],
          maxTokenAge: MAX_TOKEN_AGE_SECONDS,
          clockTolerance: CLOCK_TOLERANCE_SECONDS,
        }));
      } catch {
        throw unauthorized('The JWT is not valid for this endpoint (signature, audience or time)');
      }
      const jti = payload.jti;
      if (typeof jti !== 'string' || jti.length === 0 || jti.length > 256)
        throw unauthorized('The JWT has no usable jti');
      // Kept as long as the token could be accepted: until it expires or grows too old, whichever comes first.
      const acceptableUntil = Math.min(payload.exp as number, (payload.iat as number) + MAX_TOKEN_AGE_SECONDS);
      const expiresAt = new Date((acceptableUntil + CLOCK_TOLERANCE_SECONDS) * 1000);
      if (!(await options.claimJwtId(claimedIssuer as string, jti, expiresAt))) {
        throw unauthorized('The JWT was already used (replayed jti)');
      }
      return claimedIssuer as string;
    },
  };
}
