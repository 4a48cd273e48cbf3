/**
 * The catch-up poller: every `intervalMs`, finds the patients whose inputs changed since the checkpoint and
 * enqueues one `assess-patient` job per patient. The safety net under the Subscriptions (lost notifications,
 * a Subscription that was off, a server without Subscriptions).
 *
 * - At-least-once: the checkpoint is written only after `enqueue` resolved; a failed enqueue leaves it as it was,
 *   so the next run finds the same changes again.
 * - The checkpoint is the newest `meta.lastUpdated` seen (the FHIR server's clock, not ours). Each run searches
 *   from `checkpoint - overlapMs`, so a resource whose lastUpdated lands slightly behind one already seen (clock
 *   skew between server nodes, a long transaction committing late) is not lost. Resources in that overlap window
 *   that were already enqueued are remembered in the checkpoint and not enqueued again.
 * - No checkpoint yet: everything (or `initialLookbackMs` back from now).
 */
import type { MedplumClient } from '@medplum/core';
import { parseJsonOrUndefined } from '../fhir-model/json.ts';
import { logger } from '../logging.ts';
import { createPeriodicTask, type PeriodicTask } from '../util/periodic-task.ts';
import { type FindChangedOptions, findChangedPatients } from './find-changed-patients.ts';

const log = logger.child({ component: 'poller' });

/** A key-value store (the queue's StateStore fits). Values written are JSON strings. */
export interface CheckpointStore {
  get(key: string): Promise<unknown>;
  set(key: string, value: string): Promise<void>;
}

/** The job intent the poller emits (same shape as intake's). */
export interface AssessPatientJob {
  kind: 'assess-patient';
  patientId: string;
}

export interface PollerOptions {
  client: MedplumClient;
  store: CheckpointStore;
  enqueue: (jobs: AssessPatientJob[]) => Promise<void>;
  intervalMs: number;
  checkpointKey: string;
  /** Search this far back before the checkpoint. Default 5 000 ms. */
  overlapMs?: number;
  /** Without a checkpoint, look back this far from now; unset = everything. */
  initialLookbackMs?: number;
  /**
   * Without a checkpoint, store one at now and search nothing (the service's first start: what came before is the
   * backfill's; from then on nothing is lost, issue #11 item 5).
   */
  checkpointAtFirstStart?: boolean;
  /** Clock for the initial lookback (tests). */
  now?: () => number;
  /** Paging and extra codes, passed to findChangedPatients. */
  findOptions?: Omit<FindChangedOptions, 'exclude' | 'resourcesWindowMs'>;
  /** Jobs per `enqueue` call (a first full scan can name many patients). Default 500. */
  enqueueBatchSize?: number;
}

export interface Checkpoint {
  /** Newest `meta.lastUpdated` seen. */
  newest: string;
  /** `Type/id|lastUpdated` of resources inside the overlap window that were already enqueued. */
  recent: string[];
}

export interface PollResult {
  since: string;
  patientIds: string[];
  enqueued: number;
  checkpoint: Checkpoint | undefined;
  checkpointWritten: boolean;
}

export type Poller = PeriodicTask<PollResult>;

export const EPOCH = '1970-01-01T00:00:00.000Z';
const DEFAULT_OVERLAP_MS = 5_000;
/** Bound on the remembered overlap keys (a burst of writes within a few seconds). */
const MAX_RECENT = 20_000;

/** Reads a stored checkpoint: the JSON this module writes, or a bare instant (from older versions or by hand). */
export function parseCheckpoint(value: unknown): Checkpoint | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  let parsed: unknown = value;
  if (typeof value === 'string') {
    if (!Number.isNaN(Date.parse(value)) && !value.trim().startsWith('{')) return { newest: value, recent: [] };
    parsed = parseJsonOrUndefined(value);
  }
  const cp = parsed as Partial<Checkpoint>;
  if (typeof cp?.newest !== 'string' || Number.isNaN(Date.parse(cp.newest))) return undefined;
  return { newest: cp.newest, recent: Array.isArray(cp.recent) ? cp.recent.filter((k) => typeof k === 'string') : [] };
}

/** Stores a checkpoint at `nowMs` (nothing searched): changes from then on are found. */
async function firstCheckpoint(store: CheckpointStore, key: string, nowMs: number): Promise<PollResult> {
  const checkpoint: Checkpoint = { newest: new Date(nowMs).toISOString(), recent: [] };
  await store.set(key, JSON.stringify(checkpoint));
  log.info('First start: change-detection checkpoint created');
  return { since: checkpoint.newest, patientIds: [], enqueued: 0, checkpoint, checkpointWritten: true };
}

const keyTime = (key: string): number => Date.parse(key.slice(key.lastIndexOf('|') + 1));

export function createPoller(options: PollerOptions): Poller {
  const overlapMs = options.overlapMs ?? DEFAULT_OVERLAP_MS;
  const now = options.now ?? Date.now;
  async function poll(): Promise<PollResult> {
    const previous = parseCheckpoint(await options.store.get(options.checkpointKey));
    if (!previous && options.checkpointAtFirstStart)
      return firstCheckpoint(options.store, options.checkpointKey, now());
    let since: string;
    if (previous) since = new Date(Date.parse(previous.newest) - overlapMs).toISOString();
    else if (options.initialLookbackMs !== undefined) since = new Date(now() - options.initialLookbackMs).toISOString();
    else since = EPOCH;

    const found = await findChangedPatients(options.client, since, undefined, {
      ...options.findOptions,
      exclude: new Set(previous?.recent ?? []),
      resourcesWindowMs: overlapMs,
    });

    const jobs = found.patientIds.map((patientId): AssessPatientJob => ({ kind: 'assess-patient', patientId }));
    const batch = Math.max(1, options.enqueueBatchSize ?? 500);
    for (let i = 0; i < jobs.length; i += batch) await options.enqueue(jobs.slice(i, i + batch));

    // Only now, with the jobs safely queued, move the checkpoint.
    const newest = previous && Date.parse(previous.newest) >= Date.parse(found.newest) ? previous.newest : found.newest;
    const windowStart = Date.parse(newest) - overlapMs;
    const recent = [
      ...new Set([
        ...(previous?.recent ?? []),
        ...found.resources.filter((r) => r.lastUpdated).map((r) => `${r.ref}|${r.lastUpdated}`),
      ]),
    ]
      .filter((k) => keyTime(k) >= windowStart)
      .slice(-MAX_RECENT);
    const checkpoint: Checkpoint = { newest, recent };
    const changed = !previous || previous.newest !== newest || previous.recent.join('\n') !== recent.join('\n');
    const write = changed && (found.resources.length > 0 || !!previous || newest !== since);
    if (write) await options.store.set(options.checkpointKey, JSON.stringify(checkpoint));

    const fields = { patients: jobs.length, checkpointWritten: write };
    if (jobs.length > 0) log.info(fields, 'Poll found changed patients');
    else log.debug(fields, 'Poll found no changes');
    return {
      since,
      patientIds: found.patientIds,
      enqueued: jobs.length,
      checkpoint: write ? checkpoint : previous,
      checkpointWritten: write,
    };
  }

  return createPeriodicTask(poll, options.intervalMs, (err) => {
    log.error({ errorName: (err as Error)?.name }, 'Poll failed; checkpoint unchanged, retrying next interval');
  });
}
