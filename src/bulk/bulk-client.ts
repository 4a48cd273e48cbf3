/**
 * The Bulk Data client (Bulk Data Access IG v2): kick-off, status polling, manifest, and the NDJSON files streamed
 * line by line (never a whole file in memory). Built by the same factory as the FHIR client: the configured auth
 * (token to the FHIR server's origin only, one retry after a 401), the request timeout (for a download: the longest
 * pause between two chunks), errors as FhirRequestError / OutcomeError with an OperationOutcome.
 *
 *   const bulk = createBulkClient(config);
 *   const statusUrl = await bulk.kickOff({ level: { kind: 'group', groupId: 'oncology' }, types: ['Patient'] });
 *   const manifest = await bulk.waitForManifest(statusUrl, { onProgress: (p) => show(p) });
 *   for (const file of manifest.output) for await (const line of bulk.fileLines(file, manifest)) use(line.text);
 *   await bulk.release(statusUrl);
 *
 * @medplum/core's `MedplumClient.bulkExport` is not used: it kicks off with a POST without a Parameters body (the IG
 * makes GET the kick-off every server supports; POST is optional), polls at a fixed period without Retry-After,
 * X-Progress or a bound on the wait, ends the wait on the first 429/503, keeps the status URL to itself (a stopped
 * backfill could not resume polling the same job) and reads bodies whole. Its error class is used (OutcomeError).
 * https://hl7.org/fhir/uv/bulkdata/export.html
 */
import { setTimeout as delay } from 'node:timers/promises';
import {
  createStreamingFhirFetch,
  createTokenProvider,
  type FetchFn,
  type FhirClientConfig,
  type FhirClientOptions,
  resolveFhirBaseUrl,
} from '../fhir/client-factory.ts';
import { FhirRequestError } from '../fhir/http-error.ts';
import { OutcomeError, outcome } from '../fhir-model/outcomes.ts';
import { logger } from '../logging.ts';
import { type ExportKickOff, kickOffUrl } from './export-request.ts';
import type { ExportFileItem, ExportManifest } from './manifest.ts';
import { type NdjsonLine, ndjsonLines } from './ndjson-lines.ts';
import { waitForManifest } from './poll-status.ts';

export type { ExportKickOff, ExportLevel } from './export-request.ts';
export type { ExportFileItem, ExportManifest } from './manifest.ts';
export type { NdjsonLine } from './ndjson-lines.ts';
export { ExportJobGoneError } from './poll-status.ts';

export interface BulkClientOptions extends FhirClientOptions {
  /** Longest wait for an export to complete (default six hours). */
  maxWaitMs?: number;
  /** How to wait between polls (tests record the waits). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export interface BulkClient {
  /** The FHIR base the exports run on. */
  readonly baseUrl: string;
  /**
   * Kicks off an export (GET with `Prefer: respond-async`); a 429/503 is retried after its Retry-After (5 tries).
   * @returns The status URL (the 202's Content-Location).
   */
  kickOff(request: ExportKickOff, signal?: AbortSignal): Promise<string>;
  /** Polls the status URL until the export completes (poll-status.ts). */
  waitForManifest(
    statusUrl: string,
    options?: { onProgress?: (progress: string | undefined) => void; signal?: AbortSignal },
  ): Promise<ExportManifest>;
  /** The lines of one output file, streamed; the token is sent only when the manifest requires it. */
  fileLines(
    file: ExportFileItem,
    manifest: Pick<ExportManifest, 'requiresAccessToken'>,
    signal?: AbortSignal,
  ): AsyncGenerator<NdjsonLine>;
  /** Tells the server the job's files are no longer needed (DELETE the status URL). Never throws. */
  release(statusUrl: string): Promise<boolean>;
}

const DEFAULT_MAX_WAIT_MS = 6 * 3_600_000;
const KICK_OFF_TRIES = 5;

/**
 * Creates a Bulk Data client for the configured FHIR server and auth mode.
 * @param config - The configuration (port, fhir).
 * @param options - A ready fetch (tests, metrics), a base URL override, the wait bound, how to wait.
 * @returns The client.
 */
export function createBulkClient(config: FhirClientConfig, options: BulkClientOptions = {}): BulkClient {
  const baseUrl = resolveFhirBaseUrl(config, options.baseUrl);
  const common = { baseUrl, timeoutMs: config.fhir.timeoutMs, fetch: options.fetch };
  const authorised = createStreamingFhirFetch({ ...common, tokenProvider: createTokenProvider(config, options) });
  const anonymous = createStreamingFhirFetch(common);
  const sleep = options.sleep ?? ((ms: number, signal?: AbortSignal) => delay(ms, undefined, { signal }));
  const now = options.now ?? Date.now;

  return {
    baseUrl,
    kickOff: async (request, signal) => kickOff(authorised, kickOffUrl(baseUrl, request), sleep, signal),
    waitForManifest: (statusUrl, poll = {}) =>
      waitForManifest(authorised, statusUrl, {
        maxWaitMs: options.maxWaitMs ?? DEFAULT_MAX_WAIT_MS,
        sleep,
        now,
        ...poll,
      }),
    async *fileLines(file, manifest, signal) {
      const fetchFn = manifest.requiresAccessToken ? authorised : anonymous;
      const response = await fetchFn(file.url, {
        headers: { Accept: 'application/fhir+ndjson' },
        ...(signal ? { signal } : {}),
      });
      if (response.body) yield* ndjsonLines(response.body);
    },
    async release(statusUrl) {
      try {
        const response = await authorised(statusUrl, {
          method: 'DELETE',
          headers: { Accept: 'application/fhir+json' },
        });
        await response.body?.cancel();
        return true;
      } catch (err) {
        const status = err instanceof FhirRequestError ? err.status : undefined;
        if (status === 404 || status === 410) return true;
        logger.warn({ status }, 'Bulk Data export job could not be deleted');
        return false;
      }
    },
  };
}

async function kickOff(
  fetchFn: FetchFn,
  url: string,
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>,
  signal: AbortSignal | undefined,
): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    let response: Response;
    try {
      response = await fetchFn(url, {
        headers: { Accept: 'application/fhir+json', Prefer: 'respond-async' },
        ...(signal ? { signal } : {}),
      });
    } catch (err) {
      const busy = err instanceof FhirRequestError && (err.status === 429 || err.status === 503);
      if (busy && attempt < KICK_OFF_TRIES) {
        await sleep(err.retryAfterMs ?? 1_000 * 2 ** attempt, signal);
        continue;
      }
      throw refused(err);
    }
    await response.body?.cancel();
    const location = response.headers.get('content-location');
    const statusUrl = location && URL.canParse(location, url) ? new URL(location, url) : undefined;
    if (response.status !== 202 || !statusUrl || !/^https?:$/.test(statusUrl.protocol)) {
      throw new OutcomeError(
        outcome('processing', 'The FHIR server did not start an asynchronous Bulk Data export', {
          diagnostics: `HTTP ${response.status}${location ? '' : ', no Content-Location'}`,
        }),
        502,
      );
    }
    return statusUrl.toString();
  }
}

/** The kick-off's refusal, said as such (the server's status, issue code and Retry-After kept). */
function refused(err: unknown): unknown {
  if (!(err instanceof FhirRequestError)) return err;
  return new FhirRequestError(
    outcome(err.outcome.issue?.[0]?.code ?? 'processing', 'The FHIR server refused the Bulk Data export', {
      diagnostics: `HTTP ${err.status}`,
    }),
    err.status,
    { retryable: err.retryable, retryAfterMs: err.retryAfterMs, serverOutcome: err.serverOutcome, cause: err },
  );
}
