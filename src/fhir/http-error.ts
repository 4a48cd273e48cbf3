/**
 * Errors from talking to the FHIR server (and its token endpoint), classified once for the queue:
 * 4xx other than 409/412/429 is final; 5xx, 409, 412, 429, timeouts and connection failures are retried.
 * Messages are static; the server's own OperationOutcome is kept aside (`serverOutcome`), never echoed,
 * because its diagnostics may carry internals or patient data (medplum issue 8814).
 * https://hl7.org/fhir/R4/http.html#Status-Codes
 */
import { OperationOutcomeError } from '@medplum/core';
import type { OperationOutcome } from '@medplum/fhirtypes';
import { isObject, parseJsonOrUndefined } from '../fhir-model/json.ts';
import { type IssueCode, OutcomeError, outcome } from '../fhir-model/outcomes.ts';

const RETRYABLE_4XX = new Set([408, 409, 412, 425, 429]);

export interface FhirRequestErrorOptions {
  retryable: boolean;
  /** Milliseconds the server asked us to wait (Retry-After). */
  retryAfterMs?: number;
  serverOutcome?: OperationOutcome;
}

/** The project's OutcomeError for a failed request to the FHIR server, marked retryable or not. */
export class FhirRequestError extends OutcomeError {
  readonly retryable: boolean;
  readonly retryAfterMs?: number;
  /** The server's OperationOutcome, when it sent one. Not for logs or response bodies. */
  readonly serverOutcome?: OperationOutcome;

  constructor(oo: OperationOutcome, status: number, options: FhirRequestErrorOptions & { cause?: unknown }) {
    super(oo, status, { cause: options.cause });
    this.name = 'FhirRequestError';
    this.retryable = options.retryable;
    if (options.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
    if (options.serverOutcome) this.serverOutcome = options.serverOutcome;
  }
}

/** Whether an HTTP status is worth retrying: 5xx, and 408/409/412/425/429. */
export function isRetryableStatus(status: number): boolean {
  return status >= 500 || RETRYABLE_4XX.has(status);
}

function issueCodeFor(status: number): IssueCode {
  if (status === 401) return 'login';
  if (status === 403) return 'forbidden';
  if (status === 404 || status === 410) return 'not-found';
  if (status === 409 || status === 412) return 'conflict';
  if (status === 429) return 'throttled';
  if (status === 504 || status === 408) return 'timeout';
  if (status >= 500) return 'transient';
  return 'processing';
}

/**
 * Parses Retry-After (delta-seconds or an HTTP date).
 * @param value - The header value.
 * @param now - The current time in ms.
 * @returns Milliseconds to wait, or undefined when absent or unparseable.
 */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/**
 * Builds the error for an HTTP status from the FHIR server (or from a Bundle entry's response.status).
 * @param status - The HTTP status.
 * @param options - The Retry-After header and the server's OperationOutcome, if any.
 * @param text - Static message.
 * @returns The classified error.
 */
export function errorForStatus(
  status: number,
  options: { retryAfter?: string | null; serverOutcome?: OperationOutcome } = {},
  text = 'FHIR server request failed',
): FhirRequestError {
  const retryAfterMs = parseRetryAfter(options.retryAfter);
  return new FhirRequestError(outcome(issueCodeFor(status), text, { diagnostics: `HTTP ${status}` }), status, {
    retryable: isRetryableStatus(status),
    retryAfterMs,
    serverOutcome: options.serverOutcome,
  });
}

/**
 * Builds the error for a non-2xx fetch Response, reading its body (an OperationOutcome when the server sent one).
 * @param response - The response.
 * @param text - Static message.
 * @returns The classified error.
 */
export async function errorFromResponse(response: Response, text?: string): Promise<FhirRequestError> {
  // A body that cannot be read or is not an OperationOutcome: the status is enough.
  const body = await response.text().catch(() => '');
  return errorForStatus(
    response.status,
    { retryAfter: response.headers.get('retry-after'), serverOutcome: operationOutcomeIn(body) },
    text,
  );
}

/**
 * The OperationOutcome a server sent as an error body, if that is what the text is.
 * @param body - The response body text.
 * @returns The OperationOutcome, or undefined.
 */
export function operationOutcomeIn(body: string): OperationOutcome | undefined {
  const parsed = body ? parseJsonOrUndefined(body) : undefined;
  return isObject(parsed) && parsed.resourceType === 'OperationOutcome'
    ? (parsed as unknown as OperationOutcome)
    : undefined;
}

/**
 * Turns a thrown fetch failure into a retryable error: a timeout (504) or a connection problem (503).
 * A deliberate abort by the caller (AbortError) is passed through unchanged.
 * @param err - What fetch threw.
 * @returns The error to throw.
 */
export function errorFromFetchFailure(err: unknown): unknown {
  if (err instanceof OutcomeError) return err;
  const name = (err as Error | undefined)?.name;
  if (name === 'AbortError') return err;
  if (name === 'TimeoutError') {
    return new FhirRequestError(outcome('timeout', 'FHIR server did not answer in time'), 504, {
      retryable: true,
      cause: err,
    });
  }
  const code = networkCode(err);
  return new FhirRequestError(
    outcome('transient', 'FHIR server could not be reached', code ? { diagnostics: code } : {}),
    503,
    { retryable: true, cause: err },
  );
}

function networkCode(err: unknown): string | undefined {
  const cause = (err as { cause?: { code?: unknown } } | undefined)?.cause;
  const code = cause?.code ?? (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && /^[A-Z_]+$/.test(code) ? code : undefined;
}

const RETRYABLE_ISSUE_CODES = new Set<string>(['transient', 'timeout', 'throttled', 'lock-error', 'conflict']);

/**
 * Whether the queue should retry after this error.
 * FhirRequestError says so itself; another OutcomeError when it is transient (429/503/504, or issue code
 * transient/timeout/throttled/lock-error/conflict); Medplum's own OperationOutcomeError (the base class) by its
 * issue code; timeouts, aborts and connection failures are retryable; anything else (a bug, bad input) is not.
 * @param err - Anything thrown.
 * @returns True when retrying may succeed.
 */
export function isRetryable(err: unknown): boolean {
  if (err instanceof FhirRequestError) return err.retryable;
  const transientIssue = (oo: OperationOutcome): boolean =>
    (oo.issue ?? []).some((i) => RETRYABLE_ISSUE_CODES.has(i.code));
  if (err instanceof OutcomeError) return [429, 503, 504].includes(err.status) || transientIssue(err.outcome);
  if (err instanceof OperationOutcomeError) return transientIssue(err.outcome);
  if (!err || typeof err !== 'object') return false;
  const e = err as { name?: unknown; message?: unknown };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return true;
  if (e.name === 'TypeError' && e.message === 'fetch failed') return true;
  return networkCode(err) !== undefined && /^(E[A-Z_]+|UND_ERR_[A-Z_]+)$/.test(networkCode(err) as string);
}

/**
 * A FHIR server's definite refusal (4xx other than 408/409/412/425/429): the same request would be refused again, so
 * the queue dead-letters the job at once instead of spending its retries. Timeouts, connection failures and errors of
 * unknown kind are not final: they are retried.
 * @param err - Anything thrown.
 * @returns True for a final refusal.
 */
export function isFinalRefusal(err: unknown): boolean {
  return err instanceof FhirRequestError && !err.retryable;
}

/**
 * The Retry-After the server asked for, when the error carries one.
 * @param err - Anything thrown.
 * @returns Milliseconds, or undefined.
 */
export function retryAfterMs(err: unknown): number | undefined {
  return err instanceof FhirRequestError ? err.retryAfterMs : undefined;
}

/**
 * The server is overloaded or not keeping up: 429, 503 (or unreachable), 504 (or no answer in time). The queue runs
 * fewer jobs at once after such an answer (src/queue/concurrency-limit.ts).
 * @param err - Anything thrown.
 * @returns True for an overload answer.
 */
export function isOverloadAnswer(err: unknown): boolean {
  return err instanceof FhirRequestError && [429, 503, 504].includes(err.status);
}
