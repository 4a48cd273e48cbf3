/**
 * Access tokens for the FHIR server: the provider interface every auth mode implements, a cache that
 * re-obtains a token shortly before it expires (one request in flight at a time), and the OAuth 2.0
 * token request itself (RFC 6749 section 4.4, form-encoded POST, JSON answer).
 * Nothing here logs or throws a credential; token endpoint errors carry the status and OAuth error code only.
 */
import { z } from 'zod';
import { outcome } from '../../fhir-model/outcomes.ts';
import { errorForStatus, errorFromFetchFailure, FhirRequestError } from '../http-error.ts';

/** A plain fetch (the global one, or one given by tests). */
export type FetchFn = (input: string, init?: RequestInit) => Promise<Response>;

export interface TokenProvider {
  /** A current access token: cached, or obtained when missing or about to expire. */
  getToken(): Promise<string>;
  /**
   * Forgets the cached token (after the FHIR server answered 401).
   * @returns False when no new token can be obtained (a static bearer token), so a retry is pointless.
   */
  invalidate(): boolean;
}

export interface IssuedToken {
  accessToken: string;
  /** Seconds; undefined when the token endpoint did not say. */
  expiresIn?: number;
}

/** Lifetime assumed when the token endpoint gives no expires_in. */
export const DEFAULT_TOKEN_LIFETIME_SECONDS = 300;

/**
 * Wraps a token source in a cache: a token is reused until shortly before it expires
 * (a fifth of its lifetime, at most 60 s early), and concurrent callers share one request.
 * @param obtain - Gets a new token (e.g. from the token endpoint).
 * @param now - Clock in ms (tests).
 * @returns The provider.
 */
export function cachedTokenProvider(obtain: () => Promise<IssuedToken>, now: () => number = Date.now): TokenProvider {
  let current: { token: string; refreshAt: number } | undefined;
  let pending: Promise<string> | undefined;

  const refresh = async (): Promise<string> => {
    const issued = await obtain();
    const lifetimeMs = (issued.expiresIn ?? DEFAULT_TOKEN_LIFETIME_SECONDS) * 1000;
    const margin = Math.min(60_000, lifetimeMs / 5);
    current = { token: issued.accessToken, refreshAt: now() + lifetimeMs - margin };
    return issued.accessToken;
  };

  return {
    getToken(): Promise<string> {
      if (current && now() < current.refreshAt) return Promise.resolve(current.token);
      pending ??= refresh().finally(() => {
        pending = undefined;
      });
      return pending;
    },
    invalidate(): boolean {
      current = undefined;
      return true;
    },
  };
}

const tokenResponseSchema = z.object({
  access_token: z.string().min(1),
  token_type: z.string().optional(),
  expires_in: z.coerce.number().positive().optional(),
});

const oauthErrorSchema = z.object({ error: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/) });

/**
 * Settles with the promise, or rejects with the signal's reason as soon as it aborts, whatever the fetch
 * implementation does with the signal (so the timeout holds for the body as well as the headers).
 */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  promise.catch(() => undefined); // the loser of the race must not become an unhandled rejection
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * Runs a fetch with a timeout, turning timeouts and connection failures into retryable errors.
 * @param fetchFn - The fetch to use.
 * @param url - The URL.
 * @param init - Request options.
 * @param timeoutMs - Timeout for the whole exchange, body included.
 * @returns The response and its body text.
 */
export async function fetchText(
  fetchFn: FetchFn,
  url: string,
  init: RequestInit,
  timeoutMs: number,
): Promise<{ response: Response; text: string }> {
  try {
    const signal = AbortSignal.timeout(timeoutMs);
    const response = await abortable(fetchFn(url, { ...init, signal }), signal);
    const text = await abortable(response.text(), signal);
    return { response, text };
  } catch (err) {
    throw errorFromFetchFailure(err);
  }
}

/**
 * POSTs a client_credentials token request.
 * @param fetchFn - The fetch to use.
 * @param tokenUrl - The token endpoint.
 * @param form - The form fields (grant_type, scope, client authentication).
 * @param headers - Extra headers (e.g. Authorization: Basic).
 * @param timeoutMs - Timeout.
 * @returns The token and its lifetime.
 * @throws FhirRequestError: retryable for 5xx/429/timeouts, not for a rejected request (400/401).
 */
export async function requestToken(
  fetchFn: FetchFn,
  tokenUrl: string,
  form: URLSearchParams,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<IssuedToken> {
  const { response, text } = await fetchText(
    fetchFn,
    tokenUrl,
    {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json', ...headers },
      body: form.toString(),
    },
    timeoutMs,
  );
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (!response.ok) {
    if (response.status === 400 || response.status === 401) {
      // RFC 6749 5.2: invalid_client, invalid_scope, ... Rejected credentials do not get better by retrying.
      const oauth = oauthErrorSchema.safeParse(json);
      const code = oauth.success ? ` ${oauth.data.error}` : '';
      throw new FhirRequestError(
        outcome('login', 'Token request rejected', { diagnostics: `HTTP ${response.status}${code}` }),
        response.status,
        { retryable: false },
      );
    }
    throw errorForStatus(response.status, { retryAfter: response.headers.get('retry-after') }, 'Token request failed');
  }
  const parsed = tokenResponseSchema.safeParse(json);
  if (!parsed.success || (parsed.data.token_type && parsed.data.token_type.toLowerCase() !== 'bearer')) {
    throw new FhirRequestError(outcome('login', 'Token response invalid'), 502, { retryable: false });
  }
  return { accessToken: parsed.data.access_token, expiresIn: parsed.data.expires_in };
}
