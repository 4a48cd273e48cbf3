/**
 * CDS_CLIENTS: the CDS Hooks clients (EHRs) whose signed JWTs the service accepts, as a JSON array of
 * `{ "iss": ..., "jwks_url": ... }` (keys fetched and cached) or `{ "iss": ..., "jwks": { "keys": [...] } }`.
 * Unset = no client is trusted and every hook call is refused (safe default).
 * https://cds-hooks.hl7.org/2.0/#trusting-cds-clients
 */
import { z } from 'zod';

export interface CdsClient {
  /** The JWT `iss` this client signs with. */
  iss: string;
  /** Where its JWK Set is published (https, or http on a loopback host). */
  jwksUrl?: string;
  /** Its public keys, given inline. */
  jwks?: { keys: Record<string, unknown>[] };
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);
/** Private-key members of a JWK (RFC 7518 section 6): a trusted client's set must hold public keys only. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'];

/**
 * @param url - An absolute URL.
 * @returns True for https, or http on a loopback host: where keys may come from and tokens may go.
 */
export function isHttpsOrLoopback(url: string): boolean {
  if (!URL.canParse(url)) return false;
  const parsed = new URL(url);
  return parsed.protocol === 'https:' || (parsed.protocol === 'http:' && LOOPBACK.has(parsed.hostname));
}

const jwksUrl = z
  .string()
  .refine(isHttpsOrLoopback, { error: 'jwks_url must be an https URL (http only on a loopback host)' });
const jwk = z
  .looseObject({ kty: z.string() })
  .refine((key) => PRIVATE_MEMBERS.every((m) => !(m in key)), { error: 'jwks must hold public keys only' });
const client = z.union([
  z.strictObject({ iss: z.string().min(1), jwks_url: jwksUrl }),
  z.strictObject({ iss: z.string().min(1), jwks: z.strictObject({ keys: z.array(jwk).min(1) }) }),
]);

/**
 * Reads CDS_CLIENTS.
 * @param value - The variable's value (undefined when unset).
 * @param problems - Where each problem is added, one line each, naming the variable.
 * @returns The trusted clients (empty when unset or invalid).
 */
export function readCdsClients(value: string | undefined, problems: string[]): CdsClient[] {
  if (value === undefined) return [];
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch {
    problems.push('CDS_CLIENTS: is not JSON (an array of {"iss", "jwks_url"} or {"iss", "jwks"})');
    return [];
  }
  const parsed = z.array(client).safeParse(json);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const where = issue.path.length > 0 ? ` at [${issue.path.join('.')}]` : '';
      const message =
        issue.code === 'invalid_union' ? 'each entry needs "iss" and one of "jwks_url" or "jwks"' : issue.message;
      problems.push(`CDS_CLIENTS${where}: ${message}`);
    }
    return [];
  }
  const clients = parsed.data.map(
    (c): CdsClient => ('jwks_url' in c ? { iss: c.iss, jwksUrl: c.jwks_url } : { iss: c.iss, jwks: c.jwks }),
  );
  const issuers = clients.map((c) => c.iss);
  if (new Set(issuers).size !== issuers.length) {
    problems.push('CDS_CLIENTS: each "iss" may appear only once');
    return [];
  }
  return clients;
}
