/**
 * Waits for a Bulk Data export to complete by polling its status URL (Bulk Data Access IG v2, "Bulk Data Status
 * Request"):
 * - 202: in progress; `X-Progress` is passed on, the next poll comes after `Retry-After` (seconds or a date) when the
 *   server gives one, otherwise after an exponential backoff (1 s, x1.5, at most 60 s), as the IG recommends;
 * - 200: complete; the manifest is checked (manifest.ts) and returned;
 * - 429, a 5xx whose OperationOutcome says `transient`/`throttled`/`timeout` (or has none: a gateway), a timeout
 *   or a dropped connection: the job is still running, only this poll failed; polled again after Retry-After or
 *   the backoff;
 * - 404/410: the job is gone (expired, deleted) - ExportJobGoneError, so a caller can start a new one;
 * - any other 4xx/5xx: the export failed; the error carries the server's status and first issue code.
 * The whole wait is bounded (`maxWaitMs`): past it, a 504 OutcomeError, and the job is left running on the server so
 * that a later call can resume polling the same URL.
 * https://hl7.org/fhir/uv/bulkdata/export.html#bulk-data-status-request
 */

import type { FetchFn } from '../fhir/client-factory.ts';
import { FhirRequestError, parseRetryAfter } from '../fhir/http-error.ts';
import { parseJsonOrUndefined } from '../fhir-model/json.ts';
import { OutcomeError, outcome } from '../fhir-model/outcomes.ts';
import { type ExportManifest, readManifest } from './manifest.ts';

export interface PollOptions {
  /** Longest total wait before giving up (the job stays on the server). */
  readonly maxWaitMs: number;
  /** Told the server's `X-Progress` (undefined when it sent none) at every in-progress answer. */
  readonly onProgress?: (progress: string | undefined) => void;
  /** Stops the wait (the abort reason is thrown). */
  readonly signal?: AbortSignal;
  /** How to wait (tests record the waits). */
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly now: () => number;
}

/** The export job is not on the server any more (404/410 on its status URL): expired, deleted or never there. */
export class ExportJobGoneError extends OutcomeError {
  constructor(cause?: unknown) {
    super(outcome('not-found', 'Bulk Data export job not found on the server (expired or deleted)'), 404, { cause });
    this.name = 'ExportJobGoneError';
  }
}

const FIRST_BACKOFF_MS = 1_000;
const MAX_BACKOFF_MS = 60_000;
const TRANSIENT_ISSUES = new Set(['transient', 'throttled', 'timeout', 'lock-error']);
const MAX_PROGRESS_CHARS = 100;

/**
 * Polls until the export completes.
 * @param fetchFn - The FHIR fetch (throws FhirRequestError for a status >= 400).
 * @param statusUrl - The kick-off's Content-Location.
 * @param options - Bound on the wait, progress, abort, clock.
 * @returns The manifest.
 * @throws ExportJobGoneError, OutcomeError (export failed, manifest malformed, wait exceeded), the abort reason.
 */
export async function waitForManifest(
  fetchFn: FetchFn,
  statusUrl: string,
  options: PollOptions,
): Promise<ExportManifest> {
  const started = options.now();
  let backoff = FIRST_BACKOFF_MS;
  for (;;) {
    options.signal?.throwIfAborted();
    let waitMs: number;
    try {
      const response = await fetchFn(statusUrl, {
        headers: { Accept: 'application/json' },
        ...(options.signal ? { signal: options.signal } : {}),
      });
      if (response.status === 200) return readManifest(parseJsonOrUndefined(await response.text()));
      await response.body?.cancel();
      if (response.status !== 202) {
        throw new OutcomeError(
          outcome('processing', 'Unexpected Bulk Data status response', { diagnostics: `HTTP ${response.status}` }),
          502,
        );
      }
      options.onProgress?.(progressOf(response.headers.get('x-progress')));
      waitMs = parseRetryAfter(response.headers.get('retry-after')) ?? backoff;
    } catch (err) {
      if (options.signal?.aborted) throw options.signal.reason;
      waitMs = retryWaitOf(err) ?? backoff;
    }
    backoff = Math.min(MAX_BACKOFF_MS, Math.round(backoff * 1.5));
    if (options.now() - started + waitMs > options.maxWaitMs) {
      throw new OutcomeError(
        outcome('timeout', 'Bulk Data export did not complete in time; run again to keep waiting for the same job', {
          diagnostics: `waited ${Math.round((options.now() - started) / 1000)} s`,
        }),
        504,
      );
    }
    await options.sleep(waitMs, options.signal);
  }
}

/**
 * How long to wait before polling again after a failed poll, or a throw when the failure is final.
 * @returns Milliseconds (Retry-After) or undefined (use the backoff).
 */
function retryWaitOf(err: unknown): number | undefined {
  if (!(err instanceof FhirRequestError)) throw err;
  if (err.status === 404 || err.status === 410) throw new ExportJobGoneError(err);
  const issue = err.serverOutcome?.issue?.[0]?.code;
  // A 500 without an outcome is the job failing; 502-504 without one is a gateway or a dropped connection.
  const transient =
    err.status === 429 ||
    (err.status >= 500 && (issue === undefined ? err.status !== 500 : TRANSIENT_ISSUES.has(issue)));
  if (!transient) {
    throw new OutcomeError(
      outcome('exception', 'The FHIR server reports that the Bulk Data export failed', {
        diagnostics: `HTTP ${err.status}${issue ? ` ${issue}` : ''}`,
      }),
      502,
      { cause: err },
    );
  }
  return err.retryAfterMs;
}

/** X-Progress as a short line of printable text (it is shown on a terminal). */
function progressOf(header: string | null): string | undefined {
  const text = header?.replace(/[^\x20-\x7e]/g, '').trim();
  return text ? text.slice(0, MAX_PROGRESS_CHARS) : undefined;
}
