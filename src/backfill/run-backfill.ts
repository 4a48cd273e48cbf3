/**
 * `backfill --from-server` from start to end: the unfinished run in the database resumed (or a new one started),
 * the export staged (stage-export.ts), every patient assessed and written (assess-staged.ts), the run closed with its
 * counts. A run asking something else than the unfinished one is refused unless told to discard it, so two different
 * backfills never mix their patients.
 * https://hl7.org/fhir/uv/bulkdata/export.html
 */
import type { BulkClient } from '../bulk/bulk-client.ts';
import { OutcomeError, outcome } from '../fhir-model/outcomes.ts';
import type { Database } from '../queue/database.ts';
import { type AssessEvents, type AssessOne, assessStaged } from './assess-staged.ts';
import { type BackfillRequest, type BackfillRun, openBackfillStore, type PatientCounts } from './backfill-store.ts';
import { type StageEvents, stageExport } from './stage-export.ts';

export type { AssessOne } from './assess-staged.ts';
export { BackfillInterrupted } from './assess-staged.ts';
export type { BackfillRequest, PatientCounts } from './backfill-store.ts';

export interface BackfillOptions {
  readonly request: BackfillRequest;
  readonly dryRun: boolean;
  /** Discard an unfinished backfill that asked something else (or the same) and start afresh. */
  readonly restart: boolean;
  readonly concurrency: number;
  readonly signal: AbortSignal;
}

export interface BackfillEvents extends StageEvents, AssessEvents {}

export interface BackfillSummary {
  /** True when an unfinished run was picked up. */
  readonly resumed: boolean;
  readonly counts: PatientCounts;
  readonly unreadable: number;
  /** Resources staged by this process. */
  readonly staged: number;
  /** NDJSON bytes downloaded by this process. */
  readonly bytes: number;
  /** Error files the server's manifest listed (OperationOutcomes; not read). */
  readonly exportErrors: number;
  readonly transactionTime: string;
}

/**
 * Runs a backfill.
 * @param db - The service's database (the backfill's state lives there).
 * @param bulk - The Bulk Data client.
 * @param assess - Assesses and writes one patient (the worker's function; on a dry run, a renderer).
 * @param events - Progress.
 * @param options - What to export, dry run, restart, concurrency, the stop signal.
 * @returns The summary.
 * @throws OutcomeError 409 when another backfill is unfinished; BackfillInterrupted when stopped.
 */
export async function runBackfill(
  db: Database,
  bulk: BulkClient,
  assess: AssessOne,
  events: BackfillEvents,
  options: BackfillOptions,
): Promise<BackfillSummary> {
  const store = await openBackfillStore(db);
  let run = await store.unfinishedRun();
  const resumed = run !== undefined && !options.restart && sameRequest(run.request, options.request);
  if (run && !resumed) {
    if (!options.restart) throw otherRunUnfinished(run);
    await store.discardRun(run.id);
    run = undefined;
  }
  if (resumed && run) events.note(`resuming the unfinished backfill (${run.phase} phase)`);
  run ??= await store.startRun(options.request);

  const stage = await stageExport(store, bulk, run, events, options.signal);
  const ready: BackfillRun = { ...run, phase: 'assess', manifest: stage.manifest };
  const counts = await assessStaged(store, ready, assess, events, {
    concurrency: options.concurrency,
    dryRun: options.dryRun,
    signal: options.signal,
  });
  if (!options.dryRun) await store.finishRun(run.id, counts);
  return {
    resumed,
    counts,
    unreadable: stage.unreadable,
    staged: stage.staged,
    bytes: stage.bytes,
    exportErrors: stage.manifest.error.length,
    transactionTime: stage.manifest.transactionTime,
  };
}

function sameRequest(a: BackfillRequest, b: BackfillRequest): boolean {
  return JSON.stringify(describe(a)) === JSON.stringify(describe(b));
}

function describe(r: BackfillRequest): unknown[] {
  const level = r.level.kind === 'group' ? `Group/${r.level.groupId}` : r.level.kind;
  return [level, r.since ?? null, [...r.types].sort()];
}

function otherRunUnfinished(run: BackfillRun): OutcomeError {
  const [level, since] = describe(run.request);
  return new OutcomeError(
    outcome(
      'conflict',
      `another backfill (${level}${since ? ` since ${since}` : ''}) is unfinished in this database: run it again ` +
        'with the same options to resume it, or add --restart to discard it',
    ),
    409,
  );
}
