/**
 * The queue's settings: the options a caller may give, their defaults and bounds, and the pg-boss queues they make
 * (one `stately` queue per job kind, one dead-letter queue for all). https://pgboss.io/api/queues
 */
import type { PgBoss } from 'pg-boss';
import { OutcomeError, outcome } from '../fhir-model/outcomes.ts';
import { JOB_KINDS } from './jobs.ts';

/** The queue dead-lettered jobs of every kind go to (their kind is kept as the source queue). */
export const DEAD_LETTER_QUEUE = 'dead-letter';

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

export interface ResolvedOptions {
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

/**
 * The options with their defaults, rounded and bounded.
 * @param options - What the caller gave.
 * @returns Every setting.
 */
export function resolveOptions(options: JobQueueOptions): ResolvedOptions {
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

/**
 * Creates (or updates) the dead-letter queue and one `stately` queue per job kind with these settings.
 * Throws an OutcomeError when a queue of a kind exists with another policy (pg-boss cannot change it).
 * @param boss - A started pg-boss.
 * @param config - The settings.
 * @param notify - Whether a commit of runnable jobs NOTIFYs the workers (off where local-wake.ts wakes them).
 */
export async function ensureQueues(boss: PgBoss, config: ResolvedOptions, notify: boolean): Promise<void> {
  await boss.createQueue(DEAD_LETTER_QUEUE, { retentionSeconds: config.deadLetterRetentionDays * 86_400 });
  await boss.updateQueue(DEAD_LETTER_QUEUE, { retentionSeconds: config.deadLetterRetentionDays * 86_400 });
  const settings = {
    retryLimit: config.attempts - 1,
    retryDelay: config.delaySeconds,
    retryBackoff: config.backoff,
    expireInSeconds: config.jobTimeoutSeconds,
    heartbeatSeconds: config.heartbeatSeconds,
    deadLetter: DEAD_LETTER_QUEUE,
    notify,
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
