/**
 * The durable job queue: pg-boss 12 on the service's database (PostgreSQL, or PGlite through pg-boss's own
 * PGlite adapter), one `stately` queue per job kind keyed as in jobs.ts, retries with exponential backoff, and one
 * dead-letter queue that keeps jobs whose attempts ran out until they are replayed.
 *
 * Guarantees (tested over both databases in test/queue):
 * - `enqueue` resolves once the jobs are committed (the calls waiting for one commit share the next:
 *   group-commit.ts); a burst for one key becomes one waiting job; jobs run by priority, fairly across senders.
 * - a worker takes its next job as soon as it finishes one; the jobs run at once adapt to the FHIR server
 *   (worker-pool.ts, concurrency-limit.ts). New jobs wake idle workers: NOTIFY on PostgreSQL (any process), on PGlite
 *   as many idle workers as the commit queued jobs (local-wake.ts).
 * - one key never runs twice at the same moment, across every process on the database (the `stately` unique
 *   index on running jobs, and fetches skip keys that are running); a job enqueued while its key runs waits for it.
 * - a failed job is retried (`retry.attempts` in all, `delaySeconds * 2^n` with jitter, capped at
 *   `maxDelaySeconds`), then dead-lettered; `replayDeadLetters` puts it back with fresh attempts. A job that fails
 *   while another job of its key waits for a retry is folded into that retry (job-runner.ts).
 * - a running job whose process died is failed and retried after `heartbeatSeconds` without a heartbeat
 *   (or after `jobTimeoutSeconds`); its handler's `signal` is aborted if that happens while it still runs.
 * Parts: queue-settings.ts (options, queues), enqueue-jobs.ts, job-runner.ts (one job), dead-letters.ts,
 * job-table-sql.ts (the two statements pg-boss's API has no equal for).
 * https://pgboss.io/api/queues https://pgboss.io/api/workers
 */
import type { ConstructorOptions } from 'pg-boss';
import { PgBoss } from 'pg-boss';
import { OutcomeError, outcome } from '../fhir-model/outcomes.ts';
import { logger } from '../logging.ts';
import { createPeriodicTask } from '../util/periodic-task.ts';
import type { Database } from './database.ts';
import {
  type DeadLetter,
  listDeadLetters,
  type ReplayFilter,
  replayDeadLetters,
  sweepSupersededDeadLetters,
} from './dead-letters.ts';
import { type EnqueueOptions, insertWithBoss, planJobs } from './enqueue-jobs.ts';
import { createFairShare } from './fair-share.ts';
import { createGroupCommit } from './group-commit.ts';
import { errorFields, type JobHandler, runJob } from './job-runner.ts';
import { type JobQueueStats, queueCounts } from './job-table-sql.ts';
import type { JobKind, JobPayloads, JobRequest } from './jobs.ts';
import { JOB_KINDS } from './jobs.ts';
import { localWakeups } from './local-wake.ts';
import { ensureQueues, type JobQueueOptions, type ResolvedOptions, resolveOptions } from './queue-settings.ts';
import { startWorkerPool, type WorkerPool } from './worker-pool.ts';

export type { DeadLetter, ReplayFilter } from './dead-letters.ts';
export type { EnqueueOptions } from './enqueue-jobs.ts';
export type { JobContext, JobHandler } from './job-runner.ts';
export type { JobQueueStats, KindStats } from './job-table-sql.ts';
export type { JobKind, JobPayloads, JobRequest } from './jobs.ts';
export { DEAD_LETTER_QUEUE, type JobQueueOptions, type RetryOptions } from './queue-settings.ts';

export interface EnqueueResult {
  /** Jobs newly queued (their ids in `ids`). */
  queued: number;
  /** Jobs folded into a job already waiting for the same key (or a duplicate in the same call). */
  coalesced: number;
  ids: string[];
}

export interface WorkOptions {
  /** Jobs of this kind run at once in this process, to start with. Default 1. */
  concurrency?: number;
  /** The range the concurrency adapts within to the server's answers (worker-pool.ts). Default: fixed. */
  minConcurrency?: number;
  maxConcurrency?: number;
  /** Errors no retry can cure (a FHIR server's definite refusal): the job is dead-lettered at once. */
  isFinal?: (err: unknown) => boolean;
  /** Errors that say the server is overloaded (429, 503, a timeout): the concurrency halves. */
  isOverload?: (err: unknown) => boolean;
}

export interface StopOptions {
  /** Wait for running handlers (up to timeoutMs) before stopping. Default true. */
  graceful?: boolean;
  /** After this, running jobs are failed back to the queue (a retry) and their signals aborted. Default 30000, at least 1000. */
  timeoutMs?: number;
}

export interface JobQueue {
  /** Queues the jobs; resolves once they are committed. Invalid payloads reject the whole call (nothing queued). */
  enqueue(jobs: readonly JobRequest[], options?: EnqueueOptions): Promise<EnqueueResult>;
  /** Starts handling jobs of one kind in this process. */
  work<K extends JobKind>(kind: K, handler: JobHandler<K>, options?: WorkOptions): Promise<void>;
  /** Stops fetching; graceful waits for running handlers, then returns what is still running to the queue. Idempotent. */
  stop(options?: StopOptions): Promise<void>;
  stats(): Promise<JobQueueStats>;
  /** Jobs each worked kind may run at once in this process now (it adapts within the range given to `work`). */
  concurrency(): Partial<Record<JobKind, number>>;
  listDeadLetters(options?: { kind?: JobKind; limit?: number }): Promise<DeadLetter[]>;
  /** Re-queues dead-lettered jobs with fresh attempts; resolves to how many were re-queued. A dead letter whose key already has a waiting job is folded into that job instead (and not counted). */
  replayDeadLetters(filter?: ReplayFilter): Promise<number>;
}

/** Starts pg-boss on the database and makes the queues; a failure to do so is a 503 (with its cause). */
async function startBoss(db: Database, config: ResolvedOptions, notify: boolean): Promise<PgBoss> {
  const bossOptions: ConstructorOptions = {
    ...db.bossConnection({ poolSize: config.poolSize }),
    useListenNotify: true,
    schedule: false,
    registerInstance: false,
    superviseIntervalSeconds: config.maintenanceIntervalSeconds,
    monitorIntervalSeconds: config.maintenanceIntervalSeconds,
  };
  const boss = new PgBoss(bossOptions);
  boss.on('error', (err) => logger.error(errorFields(err), 'Job queue error'));
  boss.on('warning', (warning) => logger.warn({ warning: warning.message }, 'Job queue warning'));
  try {
    await boss.start();
    await ensureQueues(boss, config, notify);
    return boss;
  } catch (err) {
    await boss.stop({ graceful: false }).catch(() => undefined);
    if (err instanceof OutcomeError) throw err;
    logger.error(errorFields(err), 'Job queue start failed');
    throw new OutcomeError(outcome('transient', 'Job queue unavailable'), 503, { cause: err });
  }
}

/**
 * Starts a pg-boss instance on `db`, creates (or updates) the queues, and returns the queue API.
 * Several instances may share one database, in one process or many; each is one pg-boss instance.
 */
export async function createJobQueue(db: Database, options: JobQueueOptions = {}): Promise<JobQueue> {
  const config = resolveOptions(options);
  // A PGlite directory belongs to one process: its commits wake this process's idle slots directly (local-wake.ts).
  const local = db.kind === 'pglite' ? localWakeups(db) : undefined;
  const boss = await startBoss(db, config, local === undefined);
  const fairShare = createFairShare();
  const group = createGroupCommit(insertWithBoss(boss, db, local?.wake));
  const enqueue = async (jobs: readonly JobRequest[], enqueueOptions: EnqueueOptions = {}): Promise<EnqueueResult> => {
    const result = await group.commit(planJobs(jobs, enqueueOptions, fairShare), jobs.length);
    if (result.queued) logger.debug({ queued: result.queued, coalesced: result.coalesced }, 'Jobs enqueued');
    return result;
  };

  const sweeper = createPeriodicTask(
    () => sweepSupersededDeadLetters(boss),
    config.maintenanceIntervalSeconds * 1000,
    (err) => logger.warn(errorFields(err), 'Dead-letter sweep failed'),
  );
  sweeper.start();

  const pools = new Map<JobKind, WorkerPool>();
  const leave = local?.join((kind, jobs) => pools.get(kind)?.wakeIdle(jobs) ?? 0);
  let stopping: Promise<void> | undefined;
  const stop = (stopOptions: StopOptions = {}): Promise<void> => {
    stopping ??= (async () => {
      unregister();
      leave?.();
      for (const pool of pools.values()) pool.close();
      await sweeper.stop();
      const graceful = stopOptions.graceful ?? true;
      await boss.stop({ graceful, timeout: Math.max(1_000, stopOptions.timeoutMs ?? 30_000) });
      logger.info({ graceful }, 'Job queue stopped');
    })();
    return stopping;
  };
  const unregister = db.beforeClose(() => stop({ graceful: false }));

  const work = async <K extends JobKind>(kind: K, handler: JobHandler<K>, workOptions: WorkOptions = {}) => {
    if (!(JOB_KINDS as readonly unknown[]).includes(kind)) {
      throw new OutcomeError(outcome('invalid', 'Unknown job kind'));
    }
    const concurrency = Math.max(1, Math.round(workOptions.concurrency ?? 1));
    const deps = { boss, db, isFinal: workOptions.isFinal };
    const pool = await startWorkerPool<JobPayloads[K]>(
      boss,
      kind,
      {
        concurrency,
        minConcurrency: Math.min(concurrency, Math.max(1, Math.round(workOptions.minConcurrency ?? concurrency))),
        maxConcurrency: Math.max(concurrency, Math.round(workOptions.maxConcurrency ?? concurrency)),
        isOverload: workOptions.isOverload,
        pollingIntervalSeconds: config.pollingIntervalSeconds,
      },
      (job) => runJob(deps, kind, job, handler),
    );
    pools.set(kind, pool);
    logger.info({ kind, concurrency }, 'Job worker started');
  };

  logger.info({ kind: db.kind }, 'Job queue started');
  return {
    enqueue,
    work,
    stop,
    stats: () => queueCounts(db),
    concurrency: () => Object.fromEntries([...pools].map(([kind, pool]) => [kind, pool.size])),
    listDeadLetters: (listOptions) => listDeadLetters(boss, listOptions),
    replayDeadLetters: (filter) => replayDeadLetters(boss, filter),
  };
}
