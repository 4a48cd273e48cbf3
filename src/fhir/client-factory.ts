/**
 * The one MedplumClient factory. Every request to the FHIR server goes through `createFhirFetch`:
 * - a timeout per request (AbortSignal, body included), so a hung server fails the job instead of the worker;
 * - the access token of the configured auth mode, only to the FHIR server's origin; one retry after a 401
 *   with a fresh token;
 * - errors normalised: any HTTP status >= 400 becomes a FhirRequestError (status, retryable, Retry-After),
 *   timeouts and connection failures become retryable FhirRequestErrors.
 * The client is built with `cacheTime: 0` (medplum issue 3724: stale reads after writes) and `maxRetries: 0`
 * (the queue retries, honouring Retry-After).
 * https://www.medplum.com/docs/sdk/core.medplumclient
 */
import { ClientStorage, MedplumClient, MemoryStorage } from '@medplum/core';
import type { Config } from '../config.ts';
import { logger } from '../logging.ts';
import { bearerTokenProvider } from './auth/bearer.ts';
import { clientCredentialsTokenProvider } from './auth/client-credentials.ts';
import { tokenUrlResolver } from './auth/discovery.ts';
import { smartBackendTokenProvider } from './auth/smart-backend.ts';
import { abortable, type FetchFn, type TokenProvider } from './auth/token-provider.ts';
import { errorForStatus, errorFromFetchFailure, operationOutcomeIn } from './http-error.ts';

export type { FetchFn, TokenProvider } from './auth/token-provider.ts';

export type FhirClientConfig = Pick<Config, 'port'> & { fhir: Config['fhir'] };

export interface FhirClientOptions {
  /** The underlying fetch (tests, or an in-process sandbox); default the global fetch. */
  fetch?: FetchFn;
  /** Overrides the FHIR base URL (default: FHIR_BASE_URL, or the embedded sandbox at /fhir/R4). */
  baseUrl?: string;
  /** Clock in ms for token expiry (tests). */
  now?: () => number;
}

/**
 * The FHIR base URL the adapter talks to: FHIR_BASE_URL, or the embedded sandbox on this process's port.
 * @param config - The configuration.
 * @returns The base URL without trailing slash.
 */
export function resolveFhirBaseUrl(config: FhirClientConfig, override?: string): string {
  return (override ?? config.fhir.baseUrl ?? `http://127.0.0.1:${config.port}/fhir/R4`).replace(/\/+$/, '');
}

/**
 * The token provider for the configured auth mode (undefined for `none`).
 * @param config - The configuration.
 * @param options - fetch, base URL override, clock.
 * @returns The provider.
 */
export function createTokenProvider(
  config: FhirClientConfig,
  options: FhirClientOptions = {},
): TokenProvider | undefined {
  const auth = config.fhir.auth;
  const fetchFn = options.fetch ?? globalThis.fetch;
  const timeoutMs = config.fhir.timeoutMs;
  const baseUrl = resolveFhirBaseUrl(config, options.baseUrl);
  switch (auth.mode) {
    case 'none':
      return undefined;
    case 'bearer':
      return bearerTokenProvider(auth.token);
    case 'client-credentials':
      return clientCredentialsTokenProvider({
        tokenUrl: tokenUrlResolver(auth.tokenUrl, baseUrl, fetchFn, timeoutMs),
        clientId: auth.clientId,
        clientSecret: auth.clientSecret,
        scope: auth.scope,
        clientAuthMethod: auth.clientAuthMethod,
        fetch: fetchFn,
        timeoutMs,
        now: options.now,
      });
    case 'smart-backend':
      return smartBackendTokenProvider({
        tokenUrl: tokenUrlResolver(auth.tokenUrl, baseUrl, fetchFn, timeoutMs),
        clientId: auth.clientId,
        scope: auth.scope,
        privateKey: auth.privateKey,
        keyId: auth.keyId,
        alg: auth.alg,
        fetch: fetchFn,
        timeoutMs,
        now: options.now,
      });
  }
}

const NULL_BODY_STATUSES = new Set([204, 205, 304]);
const DROPPED_RESPONSE_HEADERS = ['content-encoding', 'content-length', 'transfer-encoding'];

/**
 * The fetch every FHIR request goes through (see the module comment).
 * @param params - Base URL (the token goes only to its origin), timeout, token provider, underlying fetch.
 * @returns A fetch that resolves only for status < 400 and throws FhirRequestError otherwise.
 */
export function createFhirFetch(params: {
  baseUrl: string;
  timeoutMs: number;
  tokenProvider?: TokenProvider;
  fetch?: FetchFn;
}): FetchFn {
  const baseFetch = params.fetch ?? globalThis.fetch;
  const origin = new URL(params.baseUrl).origin;

  return async (url: string, init: RequestInit = {}): Promise<Response> => {
    const started = Date.now();
    const method = init.method ?? 'GET';
    const canResend = init.body === undefined || init.body === null || typeof init.body === 'string';
    for (let attempt = 0; ; attempt++) {
      const headers = await authorisedHeaders(init.headers, url, origin, params.tokenProvider);
      const timeout = AbortSignal.timeout(params.timeoutMs);
      const signal = init.signal ? AbortSignal.any([init.signal, timeout]) : timeout;

      let response: Response;
      let body: ArrayBuffer;
      try {
        response = await abortable(baseFetch(url, { ...init, headers, signal }), signal);
        body = await abortable(response.arrayBuffer(), signal);
      } catch (err) {
        logger.warn({ method, path: new URL(url).pathname, ms: Date.now() - started }, 'FHIR request failed');
        throw errorFromFetchFailure(err);
      }

      if (response.status === 401 && attempt === 0 && canResend && params.tokenProvider?.invalidate()) continue;

      logger.debug(
        { method, path: new URL(url).pathname, status: response.status, ms: Date.now() - started },
        'FHIR request',
      );
      if (response.status >= 400) {
        throw errorForStatus(response.status, {
          retryAfter: response.headers.get('retry-after'),
          serverOutcome: operationOutcomeIn(new TextDecoder().decode(body)),
        });
      }
      const outHeaders = new Headers(response.headers);
      for (const h of DROPPED_RESPONSE_HEADERS) outHeaders.delete(h);
      const nullBody = NULL_BODY_STATUSES.has(response.status) || body.byteLength === 0;
      if (nullBody) outHeaders.set('content-length', '0');
      return new Response(nullBody ? null : body, {
        status: response.status,
        statusText: response.statusText,
        headers: outHeaders,
      });
    }
  };
}

/** The request's headers with the access token, when there is one and the URL is on the FHIR server's origin. */
async function authorisedHeaders(
  init: ConstructorParameters<typeof Headers>[0],
  url: string,
  origin: string,
  tokenProvider: TokenProvider | undefined,
): Promise<Headers> {
  const headers = new Headers(init);
  if (tokenProvider && new URL(url).origin === origin) {
    headers.set('Authorization', `Bearer ${await tokenProvider.getToken()}`);
  }
  return headers;
}

/**
 * A fetch for large downloads (Bulk Data files): the token, origin rule, one retry after a 401 and error classes of
 * createFhirFetch, but the body is handed over as a stream, never buffered. The timeout covers the wait for the
 * headers and then every pause between chunks of the body, so a long download that keeps moving is never cut off
 * and one that stalls fails as a retryable timeout.
 * @param params - Base URL (the token goes only to its origin), timeout, token provider, underlying fetch.
 * @returns A fetch that resolves only for status < 400 and throws FhirRequestError otherwise.
 */
export function createStreamingFhirFetch(params: {
  baseUrl: string;
  timeoutMs: number;
  tokenProvider?: TokenProvider;
  fetch?: FetchFn;
}): FetchFn {
  const baseFetch = params.fetch ?? globalThis.fetch;
  const origin = new URL(params.baseUrl).origin;

  return async (url: string, init: RequestInit = {}): Promise<Response> => {
    const method = init.method ?? 'GET';
    for (let attempt = 0; ; attempt++) {
      const headers = await authorisedHeaders(init.headers, url, origin, params.tokenProvider);
      const stall = stallTimer(params.timeoutMs);
      const signal = init.signal ? AbortSignal.any([init.signal, stall.signal]) : stall.signal;
      let response: Response;
      try {
        response = await abortable(baseFetch(url, { ...init, headers, signal }), signal);
      } catch (err) {
        stall.stop();
        logger.warn({ method, path: new URL(url).pathname }, 'FHIR request failed');
        throw errorFromFetchFailure(err);
      }
      if (response.status === 401 && attempt === 0 && params.tokenProvider?.invalidate()) {
        stall.stop();
        await response.body?.cancel();
        continue;
      }
      logger.debug({ method, path: new URL(url).pathname, status: response.status }, 'FHIR request (streamed)');
      if (response.status >= 400) {
        const text = await abortable(response.text(), signal).catch(() => '');
        stall.stop();
        throw errorForStatus(response.status, {
          retryAfter: response.headers.get('retry-after'),
          serverOutcome: operationOutcomeIn(text),
        });
      }
      const outHeaders = new Headers(response.headers);
      for (const h of DROPPED_RESPONSE_HEADERS) outHeaders.delete(h);
      const body = response.body?.pipeThrough(
        new TransformStream<Uint8Array, Uint8Array>({
          transform(chunk, controller) {
            stall.touch();
            controller.enqueue(chunk);
          },
          flush: () => stall.stop(),
        }),
      );
      if (!body) stall.stop();
      return new Response(body ?? null, {
        status: response.status,
        statusText: response.statusText,
        headers: outHeaders,
      });
    }
  };
}

/** An AbortSignal that fires (TimeoutError) when `touch` has not been called for `ms`. */
function stallTimer(ms: number): { signal: AbortSignal; touch: () => void; stop: () => void } {
  const controller = new AbortController();
  const fire = () => controller.abort(new DOMException('FHIR server stalled', 'TimeoutError'));
  let timer = setTimeout(fire, ms);
  timer.unref();
  return {
    signal: controller.signal,
    touch() {
      clearTimeout(timer);
      timer = setTimeout(fire, ms);
      timer.unref();
    },
    stop: () => clearTimeout(timer),
  };
}

/**
 * Creates the MedplumClient for the configured FHIR server and auth mode.
 * @param config - The configuration (port, fhir).
 * @param options - A ready fetch for tests, a base URL override, a clock.
 * @returns The client; its errors are FhirRequestErrors (see isRetryable).
 */
export function createFhirClient(config: FhirClientConfig, options: FhirClientOptions = {}): MedplumClient {
  const baseUrl = resolveFhirBaseUrl(config, options.baseUrl);
  const fetch = createFhirFetch({
    baseUrl,
    timeoutMs: config.fhir.timeoutMs,
    tokenProvider: createTokenProvider(config, options),
    fetch: options.fetch,
  });
  return new MedplumClient({
    baseUrl: `${baseUrl}/`,
    fhirUrlPath: '',
    fetch,
    cacheTime: 0,
    maxRetries: 0,
    extendedMode: false,
    storage: new ClientStorage(new MemoryStorage()),
  });
}

/**
 * The FHIR base URL of a client, without trailing slash.
 * @param client - The client.
 * @returns The base URL.
 */
export function fhirBaseUrlOf(client: MedplumClient): string {
  return client.fhirUrl().toString().replace(/\/+$/, '');
}
