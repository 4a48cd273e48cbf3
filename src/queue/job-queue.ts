/**
 * The durable job queue: pg-boss 12 on the service's database (PostgreSQL, or PGlite through pg-boss's own
 * PGlite adapter), one `stately` queue per job kind keyed as in jobs.ts, retries with exponential backoff, and one
 * dead-letter queue that keeps jobs whose attempts ran out until they are replayed.
 *
 * Guarantees (tested over both databases in test/queue):
 * - `enqueue` resolves once the jobs are committed; a burst for one key becomes one waiting job.
 * - one key never runs twice at the same moment, across every process on the database (the `stately` unique
 *   index on running jobs, and fetches skip keys that are running); a job enqueued while its key runs waits for it.
 * - a failed job is retried (`retry.attempts` in all, `delaySeconds * 2^n` with jitter, capped at
 *   `maxDelaySeconds`), then dead-lettered; `replayDeadLetters` puts it back with fresh attempts. A job that fails
 *   while another job of its key waits for a retry is folded into that retry (pg-boss would dead-letter it at once).
 * - a running job whose process died is failed and retried after `heartbeatSeconds` without a heartbeat
 *   (or after `jobTimeoutSeconds`); its handler's `signal` is aborted if that happens while it still runs.
 * https://pgboss.io/api/queues https://pgboss.io/api/workers
 */
import type { ConstructorOptions, JobWithMetadata } from 'pg-boss';
import { PgBoss } from 'pg-boss';
import { OutcomeError, outcome, zodIssuesToOutcome } from '../fhir-model/outcomes.ts';
import { describeError, logger } from '../logging.ts';
import { createPeriodicTask } from '../util/periodic-task.ts';
import type { Database } from './database.ts';
import type { JobKind, JobPayloads, JobRequest } from './jobs.ts';
import { JOB_KINDS, parseJobRequest } from './jobs.ts';

export type { JobKind, JobPayloads, JobRequest } from './jobs.ts';

/** The queue dead-lettered jobs of every kind go to (their kind is kept as the source queue). */
export const DEAD_LETTER_QUEUE = 'dead-letter';
const REDRIVE_BATCH = 1_000;

export interface RetryOptions {
  /** Attempts in all, the first included. Default 5. */
  attempts?: number;
  /** Base delay before a retry, whole seconds. Default 2. */
  delaySeconds?: number;
  /** Double the delay at each retry (with jitter). Default true. */
  backoff?: boolean;
  /** Upper bound for one delay, whole seconds. Default 300. */
  maxDelaySeconds?: number;
}

export interface JobQueueOptions {
  retry?: RetryOptions;
  /** A job running longer than this is failed (and retried) and its signal aborted. Default 900, at most 86400. */
  jobTimeoutSeconds?: number;
  /**
   * A running job must heartbeat this often (pg-boss does it for the handler); a silent one is failed. Default 10 (the
   * least pg-boss allows): with the maintenance interval, a job of a killed process runs again within about 20 s.
   */
  heartbeatSeconds?: number;
  /** How often idle workers look for due jobs; new jobs wake them at once through LISTEN/NOTIFY. Default 2, at least 0.5. */
  pollingIntervalSeconds?: number;
  /** How often pg-boss maintenance runs (timed-out and heartbeat-lost jobs, retention, superseded dead letters). Default 10. */
  maintenanceIntervalSeconds?: number;
  /** How long a dead-lettered job is kept for replay, in days. Default 90, at most 365. */
  deadLetterRetentionDays?: number;
  /** Size of the queue's own connection pool (PostgreSQL only). Default 5. */
  poolSize?: number;
}

export interface JobContext {
  jobId: string;
  kind: JobKind;
  /** 1 for the first attempt. */
  attempt: number;
  /** Attempts in all for this job. */
  attempts: number;
  /** Aborted when the job was taken away from this handler (timeout, lost heartbeat, stop past its grace time). */
  signal: AbortSignal;
}

export type JobHandler<K extends JobKind> = (payload: JobPayloads[K], context: JobContext) => Promise<void>;

export interface EnqueueOptions {
  /** Do not start the jobs before this many milliseconds from now (they still coalesce with later ones). */
  startAfterMs?: number;
}

export interface EnqueueResult {
  /** Jobs newly queued (their ids in `ids`). */
  queued: number;
  /** Jobs folded into a job already waiting for the same key (or a duplicate in the same call). */
  coalesced: number;
  ids: string[];
}

export interface KindStats {
  /** Waiting to run, retries included. */
  queued: number;
  /** Of `queued`, waiting for a retry. */
  retrying: number;
  active: number;
  /** Failed for good and still retained (their copies are in the dead-letter queue). */
  failed: number;
  /** Waiting in the dead-letter queue for replay. */
  deadLettered: number;
}

export interface JobQueueStats extends KindStats {
  perKind: Record<JobKind, KindStats>;
}

export interface DeadLetter {
  /** The id in the dead-letter queue (what `replayDeadLetters({ ids })` takes). */
  id: string;
  kind: JobKind;
  payload: JobPayloads[JobKind];
  /** The id the job had when it failed. */
  failedJobId: string | null;
  /** Attempts it had made. */
  attempts: number;
  deadLetteredAt: Date;
  /** The last error's message, at most 500 characters. */
  error?: string;
}

export interface ReplayFilter {
  kind?: JobKind;
  /** Dead-letter ids, as listDeadLetters returns them. */
  ids?: string[];
  /** Only assess-patient jobs for this patient. */
  patientId?: string;
}

export interface WorkOptions {
  /** Jobs of this kind run at once in this process. Default 1. */
  concurrency?: number;
  /** Errors no retry can cure (a FHIR server's definite refusal): the job is dead-lettered at once. */
  isFinal?: (err: unknown) => boolean;
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
  listDeadLetters(options?: { kind?: JobKind; limit?: number }): Promise<DeadLetter[]>;
  /** Re-queues dead-lettered jobs with fresh attempts; resolves to how many were re-queued. A dead letter whose key already has a waiting job is folded into that job instead (and not counted). */
  replayDeadLetters(filter?: ReplayFilter): Promise<number>;
}

interface ResolvedOptions {
  attempts: number;
  delaySeconds: number;
  backoff: boolean;
  maxDelaySeconds: number;
  jobTimeoutSeconds: number;
  heartbeatSeconds: number;
  pollingIntervalSeconds: number;
  maintenanceIntervalSeconds: number;
  deadLetterRetentionDays: number;
  poolSize: number;
}

function resolveOptions(options: JobQueueOptions): ResolvedOptions {
  const whole = (value: number | undefined, fallback: number, min: number, max: number): number =>
    Math.min(max, Math.max(min, Math.round(value ?? fallback)));
  return {
    attempts: whole(options.retry?.attempts, 5, 1, 1_000),
    delaySeconds: whole(options.retry?.delaySeconds, 2, 0, 86_400),
    backoff: options.retry?.backoff ?? true,
    maxDelaySeconds: whole(options.retry?.maxDelaySeconds, 300, 1, 86_400),
    jobTimeoutSeconds: whole(options.jobTimeoutSeconds, 900, 1, 86_400),
    heartbeatSeconds: whole(options.heartbeatSeconds, 10, 10, 3_600),
    pollingIntervalSeconds: Math.max(0.5, options.pollingIntervalSeconds ?? 2),
    maintenanceIntervalSeconds: whole(options.maintenanceIntervalSeconds, 10, 1, 3_600),
    deadLetterRetentionDays: whole(options.deadLetterRetentionDays, 90, 1, 365),
    poolSize: whole(options.poolSize, 5, 1, 100),
  };
}

/** Log fields of a job's error: name and status; the stack too when it is not a known refusal (a bug leaves a trace). */
function errorFields(err: unknown): { error: string; status?: number; code?: string; err?: Record<string, unknown> } {
  if (err instanceof OutcomeError && err.status < 500) return { error: err.name, status: err.status };
  if (err instanceof OutcomeError) return { error: err.name, status: err.status, err: describeError(err) };
  const code = (err as { code?: unknown } | null)?.code;
  return {
    error: err instanceof Error ? err.name : typeof err,
    code: typeof code === 'string' ? code : undefined,
    err: describeError(err),
  };
}

function isJobKind(value: unknown): value is JobKind {
  return (JOB_KINDS as readonly unknown[]).includes(value);
}

/**
 * Starts a pg-boss instance on `db`, creates (or updates) the queues, and returns the queue API.
 * Several instances may share one database, in one process or many; each is one pg-boss instance.
 */
export async function createJobQueue(db: Database, options: JobQueueOptions = {}): Promise<JobQueue> {
  const config = resolveOptions(options);
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
    await ensureQueues(boss, config);
  } catch (err) {
    await boss.stop({ graceful: false }).catch(() => undefined);
    if (err instanceof OutcomeError) throw err;
    logger.error(errorFields(err), 'Job queue start failed');
    throw new OutcomeError(outcome('transient', 'Job queue unavailable'), 503, { cause: err });
  }

  let stopping: Promise<void> | undefined;
  const stop = (stopOptions: StopOptions = {}): Promise<void> => {
    stopping ??= (async () => {
      unregister();
      await sweeper.stop();
      const graceful = stopOptions.graceful ?? true;
      await boss.stop({ graceful, timeout: Math.max(1_000, stopOptions.timeoutMs ?? 30_000) });
      logger.info({ graceful }, 'Job queue stopped');
    })();
    return stopping;
  };
  const unregister = db.beforeClose(() => stop({ graceful: false }));
  const schema = db.schema;
  const retryPending = async (kind: JobKind, key: string, exceptId: string): Promise<boolean> => {
    const { rows } = await db.query(
      `SELECT 1 FROM ${schema}.job WHERE name = $1 AND singleton_key = $2 AND state = 'retry' AND id <> $3 LIMIT 1`,
      [kind, key, exceptId],
    );
    return rows.length > 0;
  };

  // A dead letter is superseded once a newer job of the same key waits or runs: that job assesses the same patient
  // (resolves the same resource) from the server's current data, and is dead-lettered itself if it fails for good.
  // Besides tidying, this undoes a false dead letter: pg-boss fails a job of a killed process for good, without
  // retrying it, when a retry of the same key already waits (the stately policy holds one retry per key).
  const sweepSupersededDeadLetters = async (): Promise<number> => {
    const { rows } = await db.query<{ id: string }>(
      `DELETE FROM ${schema}.job d
        WHERE d.name = $1 AND d.state IN ('created', 'retry') AND d.singleton_key IS NOT NULL
          AND EXISTS (SELECT 1 FROM ${schema}.job j
                       WHERE j.name = d.source_name AND j.singleton_key = d.singleton_key
                         AND j.state IN ('created', 'retry', 'active'))
        RETURNING d.id`,
      [DEAD_LETTER_QUEUE],
    );
    if (rows.length) logger.info({ removed: rows.length }, 'Superseded dead letters removed');
    return rows.length;
  };
  const sweeper = createPeriodicTask(sweepSupersededDeadLetters, config.maintenanceIntervalSeconds * 1000, (err) =>
    logger.warn(errorFields(err), 'Dead-letter sweep failed'),
  );
  sweeper.start();

  const queue: JobQueue = {
    async enqueue(jobs, enqueueOptions = {}) {
      const byKind = new Map<JobKind, Map<string, JobPayloads[JobKind]>>();
      const issues: { path: PropertyKey[]; message: string }[] = [];
      jobs.forEach((job, index) => {
        const parsed = parseJobRequest(job);
        if (!parsed.ok) {
          issues.push(...parsed.issues.map((issue) => ({ ...issue, path: [index, ...issue.path] })));
          return;
        }
        const keyed = byKind.get(parsed.kind) ?? new Map<string, JobPayloads[JobKind]>();
        byKind.set(parsed.kind, keyed);
        if (!keyed.has(parsed.key)) keyed.set(parsed.key, parsed.payload);
      });
      if (issues.length) throw new OutcomeError(zodIssuesToOutcome(issues, 'Invalid job'));

      const ids: string[] = [];
      const delay = enqueueOptions.startAfterMs ?? 0;
      const startAfter = delay > 0 ? new Date(Date.now() + delay) : undefined;
      for (const [kind, keyed] of byKind) {
        const inserted = await boss.insert(
          kind,
          [...keyed].map(([singletonKey, data]) => ({ data, singletonKey, ...(startAfter ? { startAfter } : {}) })),
          { returnId: true },
        );
        ids.push(...(inserted ?? []));
      }
      const result = { queued: ids.length, coalesced: jobs.length - ids.length, ids };
      if (result.queued) logger.debug({ queued: result.queued, coalesced: result.coalesced }, 'Jobs enqueued');
      return result;
    },

    async work(kind, handler, workOptions = {}) {
      if (!isJobKind(kind)) throw new OutcomeError(outcome('invalid', 'Unknown job kind'));
      const concurrency = Math.max(1, Math.round(workOptions.concurrency ?? 1));
      const run = async (job: JobWithMetadata<JobPayloads[typeof kind]>): Promise<void> => {
        const context: JobContext = {
          jobId: job.id,
          kind,
          attempt: job.retryCount + 1,
          attempts: job.retryLimit + 1,
          signal: job.signal,
        };
        const started = performance.now();
        try {
          await handler(job.data, context);
        } catch (err) {
          const fields = {
            jobId: job.id,
            kind,
            attempt: context.attempt,
            attempts: context.attempts,
            ...errorFields(err),
          };
          // Under `stately` a key holds one retry slot. If another job of this key already waits there, this job could
          // not be retried (pg-boss would fail it for good); that retry runs after this job and sees the same state, so
          // this failure is folded into it.
          if (job.singletonKey && (await retryPending(kind, job.singletonKey, job.id).catch(() => false))) {
            logger.warn(fields, 'Job failed; a pending retry of the same key covers it');
            return;
          }
          // No retries left for a final error: pg-boss then fails it for good and dead-letters it.
          if (job.retryCount < job.retryLimit && workOptions.isFinal?.(err)) {
            await db.query(`UPDATE ${schema}.job SET retry_limit = retry_count WHERE name = $1 AND id = $2`, [
              kind,
              job.id,
            ]);
            job.retryLimit = job.retryCount;
          }
          const deadLettered = job.retryCount >= job.retryLimit;
          logger.warn(
            { ...fields, deadLettered },
            deadLettered ? 'Job failed and was dead-lettered' : 'Job failed and will be retried',
          );
          throw err;
        }
        logger.debug(
          { jobId: job.id, kind, attempt: context.attempt, durationMs: Math.round(performance.now() - started) },
          'Job completed',
        );
      };
      await boss.work(
        kind,
        {
          localConcurrency: concurrency,
          batchSize: 1,
          includeMetadata: true,
          pollingIntervalSeconds: config.pollingIntervalSeconds,
          notifyPollingIntervalSeconds: config.pollingIntervalSeconds,
        },
        async (batch: JobWithMetadata<JobPayloads[typeof kind]>[]) => {
          for (const job of batch) await run(job);
        },
      );
      logger.info({ kind, concurrency }, 'Job worker started');
    },

    stop,

    async stats() {
      const empty = (): KindStats => ({ queued: 0, retrying: 0, active: 0, failed: 0, deadLettered: 0 });
      const perKind = Object.fromEntries(JOB_KINDS.map((kind) => [kind, empty()])) as Record<JobKind, KindStats>;
      // One statement, so the counts are one snapshot (a failure and its dead-letter copy are counted together).
      const { rows } = await db.query<{ kind: string | null; dead: boolean; state: string; count: number }>(
        `SELECT CASE WHEN name = $2 THEN source_name ELSE name END AS kind, name = $2 AS dead,
                state::text AS state, count(*)::int AS count
           FROM ${schema}.job
          WHERE (name = ANY($1::text[]) AND state IN ('created', 'retry', 'active', 'failed'))
             OR (name = $2 AND state IN ('created', 'retry'))
          GROUP BY 1, 2, 3`,
        [[...JOB_KINDS], DEAD_LETTER_QUEUE],
      );
      for (const row of rows) {
        if (!isJobKind(row.kind)) continue;
        const stats = perKind[row.kind];
        if (row.dead) stats.deadLettered += row.count;
        else if (row.state === 'active') stats.active += row.count;
        else if (row.state === 'failed') stats.failed += row.count;
        else {
          stats.queued += row.count;
          if (row.state === 'retry') stats.retrying += row.count;
        }
      }
      const total = empty();
      for (const stats of Object.values(perKind)) {
        for (const field of Object.keys(total) as (keyof KindStats)[]) total[field] += stats[field];
      }
      return { ...total, perKind };
    },

    async listDeadLetters(listOptions = {}) {
      const limit = Math.min(10_000, Math.max(1, Math.round(listOptions.limit ?? 1_000)));
      const { rows } = await db.query<{
        id: string;
        source: string | null;
        data: JobPayloads[JobKind];
        failed_job_id: string | null;
        retries: number | null;
        output: { message?: unknown } | null;
        created_on: Date | string;
      }>(
        `SELECT id, source_name AS source, data, source_id AS failed_job_id, source_retry_count AS retries,
                source_output AS output, created_on
           FROM ${schema}.job
          WHERE name = $1 AND state IN ('created', 'retry') AND ($2::text IS NULL OR source_name = $2)
          ORDER BY created_on, id
          LIMIT $3`,
        [DEAD_LETTER_QUEUE, listOptions.kind ?? null, limit],
      );
      return rows.flatMap((row): DeadLetter[] => {
        if (!isJobKind(row.source)) return [];
        const message = row.output?.message;
        return [
          {
            id: row.id,
            kind: row.source,
            payload: row.data,
            failedJobId: row.failed_job_id,
            attempts: (row.retries ?? 0) + 1,
            deadLetteredAt: new Date(row.created_on),
            ...(typeof message === 'string' ? { error: message.slice(0, 500) } : {}),
          },
        ];
      });
    },

    async replayDeadLetters(filter = {}) {
      if (filter.kind !== undefined && !isJobKind(filter.kind)) {
        throw new OutcomeError(outcome('invalid', 'Unknown job kind', { expression: ['kind'] }));
      }
      if (filter.ids?.length === 0) return 0;
      let replayed = 0;
      for (;;) {
        const moved = await boss.redrive(DEAD_LETTER_QUEUE, {
          limit: REDRIVE_BATCH,
          ...(filter.kind ? { sourceName: filter.kind } : {}),
          ...(filter.ids ? { ids: filter.ids } : {}),
          ...(filter.patientId ? { data: { patientId: filter.patientId } } : {}),
        });
        replayed += moved;
        if (moved < REDRIVE_BATCH) break;
      }
      logger.info({ replayed }, 'Dead letters replayed');
      return replayed;
    },
  };
  logger.info({ kind: db.kind }, 'Job queue started');
  return queue;
}

async function ensureQueues(boss: PgBoss, config: ResolvedOptions): Promise<void> {
  await boss.createQueue(DEAD_LETTER_QUEUE, { retentionSeconds: config.deadLetterRetentionDays * 86_400 });
  await boss.updateQueue(DEAD_LETTER_QUEUE, { retentionSeconds: config.deadLetterRetentionDays * 86_400 });
  const settings = {
    retryLimit: config.attempts - 1,
    retryDelay: config.delaySeconds,
    retryBackoff: config.backoff,
    expireInSeconds: config.jobTimeoutSeconds,
    heartbeatSeconds: config.heartbeatSeconds,
    deadLetter: DEAD_LETTER_QUEUE,
    notify: true,
  };
  for (const kind of JOB_KINDS) {
    // pg-boss accepts a maximum delay only together with backoff.
    await boss.createQueue(kind, {
      policy: 'stately',
      ...settings,
      ...(config.backoff ? { retryDelayMax: config.maxDelaySeconds } : {}),
    });
    const existing = await boss.getQueue(kind);
    if (existing?.policy !== 'stately') {
      throw new OutcomeError(outcome('exception', 'Job queue exists with another policy', { expression: [kind] }));
    }
    await boss.updateQueue(kind, { ...settings, retryDelayMax: config.backoff ? config.maxDelaySeconds : null });
  }
}
