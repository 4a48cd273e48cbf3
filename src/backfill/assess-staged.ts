/**
 * The second half of `backfill --from-server`: every pending patient of the run assessed and written, a few at once,
 * by the function the caller gives (the worker's own assess-and-write, worker/assess-patient.ts, wired in by the
 * command line: this layer does not import the worker). A patient is marked done, with its staged resources deleted,
 * only after its results are written, so a backfill stopped here resumes with the patients not yet done, and a
 * patient whose write was cut off is written again by the same idempotent writes (conditional by identifier), never
 * doubled. A retryable failure (429, 5xx, a timeout) is retried after the server's Retry-After or a backoff; a definite
 * refusal marks the patient failed, and the rest go on.
 */
import type { Resource } from '@medplum/fhirtypes';
import { isRetryable, retryAfterMs } from '../fhir/http-error.ts';
import { OutcomeError } from '../fhir-model/outcomes.ts';
import type { BackfillRun, BackfillStore, PatientCounts, StagedResource } from './backfill-store.ts';

/**
 * Assesses one patient and writes (or, on a dry run, renders) the results.
 * @param patientId - The Patient id.
 * @param context - The patient's resources from the export when complete; undefined means read them from the
 *   server (an export `_since` holds only what changed; a patient whose Patient resource was not exported).
 * @returns `gone` when the server has no such patient.
 */
export type AssessOne = (patientId: string, context: Resource[] | undefined) => Promise<'done' | 'gone'>;

export interface AssessEvents {
  started(counts: PatientCounts): void;
  /** After each patient: the counts of this run so far. */
  progressed(counts: PatientCounts): void;
}

export interface AssessOptions {
  /** Patients assessed at once. */
  readonly concurrency: number;
  /** A dry run marks nothing: a later backfill without it assesses (and writes) the same patients. */
  readonly dryRun: boolean;
  readonly signal: AbortSignal;
  /** Tries per patient for retryable failures (default 5). */
  readonly tries?: number;
  /** How to wait between tries (tests). */
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

const PAGE = 200;
const DEFAULT_TRIES = 5;

/** Thrown when the signal stops the backfill between two patients. */
export class BackfillInterrupted extends Error {
  override readonly name = 'BackfillInterrupted';
}

/**
 * Assesses every pending patient of a run.
 * @param store - The backfill's state.
 * @param run - The run, in its assess phase.
 * @param assess - Assesses and writes one patient.
 * @param events - Progress.
 * @param options - Concurrency, dry run, the stop signal.
 * @returns The counts at the end (this run's, patients done before a resume included).
 * @throws BackfillInterrupted when stopped by the signal (patients in progress are finished first).
 */
export async function assessStaged(
  store: BackfillStore,
  run: BackfillRun,
  assess: AssessOne,
  events: AssessEvents,
  options: AssessOptions,
): Promise<PatientCounts> {
  const counts = { ...(await store.counts(run.id)) };
  events.started({ ...counts });
  const next = patientFeed(store, run.id);
  const complete = run.request.since === undefined;
  const sleep = options.sleep ?? defaultSleep;
  const tries = options.tries ?? DEFAULT_TRIES;

  const worker = async (): Promise<void> => {
    for (let patientId = await next(); patientId !== undefined; patientId = await next()) {
      if (options.signal.aborted) return;
      const staged = await store.contextOf(run.id, patientId);
      const context = complete && staged.some((r) => r.type === 'Patient') ? staged.map(parsed) : undefined;
      const outcome = await withRetries(() => assess(patientId, context), tries, sleep, options.signal);
      if (!options.dryRun) await store.finishPatient(run.id, patientId, outcome.state, outcome.detail);
      counts.pending--;
      counts[outcome.state]++;
      events.progressed({ ...counts });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency) }, worker));
  if (options.signal.aborted) throw new BackfillInterrupted('backfill interrupted');
  return counts;
}

function parsed(r: StagedResource): Resource {
  return JSON.parse(r.body) as Resource;
}

/** The pending patients, a page at a time in id order, shared by the concurrent workers. */
function patientFeed(store: BackfillStore, runId: number): () => Promise<string | undefined> {
  let page: string[] = [];
  let cursor = '';
  let exhausted = false;
  let filling: Promise<void> | undefined;
  return async () => {
    while (page.length === 0 && !exhausted) {
      filling ??= store
        .pendingPatients(runId, cursor, PAGE)
        .then((ids) => {
          page = ids;
          exhausted = ids.length < PAGE;
          cursor = ids.at(-1) ?? cursor;
        })
        .finally(() => {
          filling = undefined;
        });
      await filling;
    }
    return page.shift();
  };
}

interface Outcome {
  state: 'done' | 'gone' | 'failed';
  detail?: string;
}

async function withRetries(
  work: () => Promise<'done' | 'gone'>,
  tries: number,
  sleep: (ms: number, signal: AbortSignal) => Promise<void>,
  signal: AbortSignal,
): Promise<Outcome> {
  for (let attempt = 1; ; attempt++) {
    try {
      return { state: await work() };
    } catch (err) {
      if (!isRetryable(err) || attempt >= tries || signal.aborted) return { state: 'failed', detail: detailOf(err) };
      await sleep(retryAfterMs(err) ?? 500 * 2 ** attempt, signal).catch(() => undefined);
    }
  }
}

/** What went wrong, without patient data: the status and the first issue's code and text. */
export function detailOf(err: unknown): string {
  if (err instanceof OutcomeError) {
    const issue = err.outcome.issue?.[0];
    return `HTTP ${err.status} ${issue?.code ?? ''}: ${err.message}`.trim();
  }
  return err instanceof Error ? err.name : 'unknown error';
}

function defaultSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}
