/**
 * The two reads and writes of pg-boss's `job` table that its API has no equal for. Everything else the queue does
 * goes through pg-boss's API (insert, work, findJobs, deleteJob, redrive, createQueue, updateQueue, getQueue).
 * - `queueCounts`: one live snapshot of every kind's states, retries and dead letters by source kind. The API's counts
 *   (getQueues, getQueueStats) are the monitor's cache, up to a minute old even when forced, and say nothing of
 *   retries or of the kind a dead letter came from; readiness and /metrics need the state now.
 * - `refuseRetries`: a running job whose error no retry can cure is given no retries left, so that its failure
 *   dead-letters it at once. pg-boss can change a job's retry limit (update) only before it runs.
 * https://pgboss.io/api/jobs
 */
import type { Database } from './database.ts';
import { JOB_KINDS, type JobKind } from './jobs.ts';
import { DEAD_LETTER_QUEUE } from './queue-settings.ts';

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

const emptyStats = (): KindStats => ({ queued: 0, retrying: 0, active: 0, failed: 0, deadLettered: 0 });

/**
 * Counts every kind's jobs by state in one statement (so a failure and its dead-letter copy are counted together).
 * @param db - The database.
 * @returns Totals and per-kind counts.
 */
export async function queueCounts(db: Database): Promise<JobQueueStats> {
  const perKind = Object.fromEntries(JOB_KINDS.map((kind) => [kind, emptyStats()])) as Record<JobKind, KindStats>;
  const { rows } = await db.query<{ kind: string | null; dead: boolean; state: string; count: number }>(
    `SELECT CASE WHEN name = $2 THEN source_name ELSE name END AS kind, name = $2 AS dead,
            state::text AS state, count(*)::int AS count
       FROM ${db.schema}.job
      WHERE (name = ANY($1::text[]) AND state IN ('created', 'retry', 'active', 'failed'))
         OR (name = $2 AND state IN ('created', 'retry'))
      GROUP BY 1, 2, 3`,
    [[...JOB_KINDS], DEAD_LETTER_QUEUE],
  );
  for (const row of rows) {
    const stats = (JOB_KINDS as readonly (string | null)[]).includes(row.kind)
      ? perKind[row.kind as JobKind]
      : undefined;
    if (!stats) continue;
    if (row.dead) stats.deadLettered += row.count;
    else if (row.state === 'active') stats.active += row.count;
    else if (row.state === 'failed') stats.failed += row.count;
    else {
      stats.queued += row.count;
      if (row.state === 'retry') stats.retrying += row.count;
    }
  }
  const total = emptyStats();
  for (const stats of Object.values(perKind)) {
    for (const field of Object.keys(total) as (keyof KindStats)[]) total[field] += stats[field];
  }
  return { ...total, perKind };
}

/**
 * Leaves a running job no retries, so that the failure about to be reported dead-letters it.
 * @param db - The database.
 * @param kind - The job's kind (its queue).
 * @param jobId - The job.
 */
export async function refuseRetries(db: Database, kind: JobKind, jobId: string): Promise<void> {
  await db.query(`UPDATE ${db.schema}.job SET retry_limit = retry_count WHERE name = $1 AND id = $2`, [kind, jobId]);
}
