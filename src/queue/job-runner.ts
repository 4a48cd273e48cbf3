/**
 * Runs one job in its handler, and decides what a failure means before pg-boss records it:
 * - a retry of the same key already waits: this failure is folded into it (under `stately` a key holds one retry
 *   slot; pg-boss would fail this job for good), since that retry runs after this job and sees the same state;
 * - the error is final (a FHIR server's definite refusal): no retries are left, so the failure dead-letters it;
 * - otherwise pg-boss retries it with backoff, or dead-letters it after its last attempt.
 */
import type { JobWithMetadata, PgBoss } from 'pg-boss';
import { OutcomeError } from '../fhir-model/outcomes.ts';
import { describeError, logger } from '../logging.ts';
import type { Database } from './database.ts';
import { refuseRetries } from './job-table-sql.ts';
import type { JobKind, JobPayloads } from './jobs.ts';

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

/** Log fields of an error: name and status; the stack too when it is not a known refusal (a bug leaves a trace). */
export function errorFields(err: unknown): {
  error: string;
  status?: number;
  code?: string;
  err?: Record<string, unknown>;
} {
  if (err instanceof OutcomeError && err.status < 500) return { error: err.name, status: err.status };
  if (err instanceof OutcomeError) return { error: err.name, status: err.status, err: describeError(err) };
  const code = (err as { code?: unknown } | null)?.code;
  return {
    error: err instanceof Error ? err.name : typeof err,
    code: typeof code === 'string' ? code : undefined,
    err: describeError(err),
  };
}

/** Whether another job of this key waits for a retry (findJobs: queued = created or retry). */
async function retryPending(boss: PgBoss, kind: JobKind, key: string, exceptId: string): Promise<boolean> {
  const queued = await boss.findJobs(kind, { key, queued: true });
  return queued.some((job) => job.state === 'retry' && job.id !== exceptId);
}

export interface RunJobDeps {
  boss: PgBoss;
  db: Database;
  /** Errors no retry can cure: the job is dead-lettered at once. */
  isFinal?: (err: unknown) => boolean;
}

/**
 * Runs a job of `kind` in `handler`; rethrows a failure pg-boss should record (retry or dead letter).
 * @param deps - pg-boss, the database, the final-error test.
 * @param kind - The job's kind.
 * @param job - The job as pg-boss fetched it (with metadata).
 * @param handler - The handler.
 */
export async function runJob<K extends JobKind>(
  deps: RunJobDeps,
  kind: K,
  job: JobWithMetadata<JobPayloads[K]>,
  handler: JobHandler<K>,
): Promise<void> {
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
    const fields = { jobId: job.id, kind, attempt: context.attempt, attempts: context.attempts, ...errorFields(err) };
    if (job.singletonKey && (await retryPending(deps.boss, kind, job.singletonKey, job.id).catch(() => false))) {
      logger.warn(fields, 'Job failed; a pending retry of the same key covers it');
      return;
    }
    if (job.retryCount < job.retryLimit && deps.isFinal?.(err)) {
      await refuseRetries(deps.db, kind, job.id);
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
}
