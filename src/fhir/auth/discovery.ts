/**
 * Token endpoint discovery for FHIR_AUTH=client-credentials and smart-backend when FHIR_TOKEN_URL is not set:
 * `${FHIR_BASE_URL}/.well-known/smart-configuration` (SMART App Launch 2.x), falling back to the
 * CapabilityStatement's oauth-uris security extension.
 * https://hl7.org/fhir/smart-app-launch/conformance.html#using-well-known
 */
import type { CapabilityStatement } from '@medplum/fhirtypes';
import { outcome } from '../../fhir-model/outcomes.ts';
import { errorForStatus, FhirRequestError, isRetryable } from '../http-error.ts';
import { type FetchFn, fetchText } from './token-provider.ts';

const OAUTH_URIS = 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris';

async function getJson(fetchFn: FetchFn, url: string, timeoutMs: number, accept: string): Promise<unknown> {
  const { response, text } = await fetchText(fetchFn, url, { method: 'GET', headers: { Accept: accept } }, timeoutMs);
  if (!response.ok) throw errorForStatus(response.status, { retryAfter: response.headers.get('retry-after') });
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isHttpUrl(value: unknown): value is string {
  return typeof value === 'string' && URL.canParse(value) && /^https?:$/.test(new URL(value).protocol);
}

/**
 * Finds the token endpoint of a FHIR server.
 * @param fhirBaseUrl - The FHIR base URL (no trailing slash).
 * @param fetchFn - The fetch to use (unauthenticated).
 * @param timeoutMs - Timeout per request.
 * @returns The token endpoint URL.
 * @throws FhirRequestError: retryable when the server was unreachable or failing, not when it has no token endpoint.
 */
export async function discoverTokenUrl(fhirBaseUrl: string, fetchFn: FetchFn, timeoutMs: number): Promise<string> {
  let firstError: unknown;
  try {
    const config = (await getJson(
      fetchFn,
      `${fhirBaseUrl}/.well-known/smart-configuration`,
      timeoutMs,
      'application/json',
    )) as { token_endpoint?: unknown } | undefined;
    if (isHttpUrl(config?.token_endpoint)) return config.token_endpoint;
  } catch (err) {
    firstError = err;
  }
  try {
    const cs = (await getJson(fetchFn, `${fhirBaseUrl}/metadata`, timeoutMs, 'application/fhir+json')) as
      | CapabilityStatement
      | undefined;
    for (const rest of cs?.rest ?? []) {
      const uris = rest.security?.extension?.find((e) => e.url === OAUTH_URIS);
      const token = uris?.extension?.find((e) => e.url === 'token')?.valueUri;
      if (isHttpUrl(token)) return token;
    }
  } catch (err) {
    firstError ??= err;
  }
  if (firstError && isRetryable(firstError)) throw firstError;
  throw new FhirRequestError(outcome('not-found', 'Token endpoint not found; set FHIR_TOKEN_URL'), 502, {
    retryable: false,
  });
}

/**
 * A memoised token URL: the configured one, or discovered once (a failed discovery is tried again next time).
 * @param tokenUrl - FHIR_TOKEN_URL, if set.
 * @param fhirBaseUrl - The FHIR base URL.
 * @param fetchFn - The fetch to use.
 * @param timeoutMs - Timeout per request.
 * @returns A function giving the token URL.
 */
export function tokenUrlResolver(
  tokenUrl: string | undefined,
  fhirBaseUrl: string,
  fetchFn: FetchFn,
  timeoutMs: number,
): () => Promise<string> {
  if (tokenUrl) return () => Promise.resolve(tokenUrl);
  let found: Promise<string> | undefined;
  return () => {
    found ??= discoverTokenUrl(fhirBaseUrl, fetchFn, timeoutMs).catch((err: unknown) => {
      found = undefined;
      throw err;
    });
    return found;
  };
}
