/**
 * Dead letters, through pg-boss's API: listing them (findJobs on the dead-letter queue), replaying them (redrive, back
 * to their source queue with fresh attempts), and dropping those a newer job of the same key has superseded.
 * https://pgboss.io/api/jobs#redrive-name-options
 */
import type { JobWithMetadata, PgBoss } from 'pg-boss';
import { OutcomeError, outcome } from '../fhir-model/outcomes.ts';
import { logger } from '../logging.ts';
import { JOB_KINDS, type JobKind, type JobPayloads } from './jobs.ts';
import { DEAD_LETTER_QUEUE } from './queue-settings.ts';

const PAGE = 1_000;

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

type Letter = JobWithMetadata<JobPayloads[JobKind]>;

const isJobKind = (value: unknown): value is JobKind => (JOB_KINDS as readonly unknown[]).includes(value);

/** Every dead letter still waiting for replay, oldest first, page by page. */
async function* waitingLetters(boss: PgBoss): AsyncGenerator<Letter[]> {
  let after: string | undefined;
  for (;;) {
    const page = await boss.findJobs<JobPayloads[JobKind]>(DEAD_LETTER_QUEUE, { queued: true, limit: PAGE, after });
    if (page.length) yield page;
    if (page.length < PAGE) return;
    after = page.at(-1)?.id;
  }
}

function toDeadLetter(letter: Letter & { sourceName: JobKind }): DeadLetter {
  const message = (letter.sourceOutput as { message?: unknown } | null)?.message;
  return {
    id: letter.id,
    kind: letter.sourceName,
    payload: letter.data,
    failedJobId: letter.sourceId,
    attempts: (letter.sourceRetryCount ?? 0) + 1,
    deadLetteredAt: new Date(letter.createdOn),
    ...(typeof message === 'string' ? { error: message.slice(0, 500) } : {}),
  };
}

/**
 * The dead letters waiting for replay, oldest first.
 * @param boss - A started pg-boss.
 * @param options - Only one kind; at most `limit` (default 1000, at most 10 000).
 * @returns The dead letters.
 */
export async function listDeadLetters(
  boss: PgBoss,
  options: { kind?: JobKind; limit?: number } = {},
): Promise<DeadLetter[]> {
  const limit = Math.min(10_000, Math.max(1, Math.round(options.limit ?? 1_000)));
  const found: DeadLetter[] = [];
  for await (const page of waitingLetters(boss)) {
    for (const letter of page) {
      const kind = letter.sourceName;
      if (!isJobKind(kind) || (options.kind !== undefined && kind !== options.kind)) continue;
      found.push(toDeadLetter({ ...letter, sourceName: kind }));
      if (found.length >= limit) return found;
    }
  }
  return found;
}

/**
 * Re-queues dead letters with fresh attempts (pg-boss redrive, in batches).
 * @param boss - A started pg-boss.
 * @param filter - Which: a kind, dead-letter ids, one patient's assessments.
 * @returns How many were re-queued (one folded into a job already waiting for its key is not counted).
 */
export async function replayDeadLetters(boss: PgBoss, filter: ReplayFilter = {}): Promise<number> {
  if (filter.kind !== undefined && !isJobKind(filter.kind)) {
    throw new OutcomeError(outcome('invalid', 'Unknown job kind', { expression: ['kind'] }));
  }
  if (filter.ids?.length === 0) return 0;
  let replayed = 0;
  for (;;) {
    const moved = await boss.redrive(DEAD_LETTER_QUEUE, {
      limit: PAGE,
      ...(filter.kind ? { sourceName: filter.kind } : {}),
      ...(filter.ids ? { ids: filter.ids } : {}),
      ...(filter.patientId ? { data: { patientId: filter.patientId } } : {}),
    });
    replayed += moved;
    if (moved < PAGE) break;
  }
  logger.info({ replayed }, 'Dead letters replayed');
  return replayed;
}

const LIVE_STATES: ReadonlySet<string> = new Set(['created', 'retry', 'active']);

/** Whether a job of the key waits or runs now (any of them: a retry older than the failed job counts too). */
async function keyIsLive(boss: PgBoss, kind: JobKind, key: string): Promise<boolean> {
  let after: string | undefined;
  for (;;) {
    const page = await boss.findJobs(kind, { key, limit: PAGE, after });
    if (page.some((job) => LIVE_STATES.has(job.state))) return true;
    if (page.length < PAGE) return false;
    after = page.at(-1)?.id;
  }
}

/**
 * Drops the dead letters whose key has a newer job waiting or running: that job assesses the same patient (resolves
 * the same resource) from the server's current data, and is dead-lettered itself if it fails for good. Besides
 * tidying, this undoes a false dead letter: pg-boss fails a job of a killed process for good, without retrying it,
 * when a retry of the same key already waits (the stately policy holds one retry per key).
 * @param boss - A started pg-boss.
 * @returns How many were dropped.
 */
export async function sweepSupersededDeadLetters(boss: PgBoss): Promise<number> {
  const superseded: string[] = [];
  for await (const page of waitingLetters(boss)) {
    for (const letter of page) {
      const kind = letter.sourceName;
      if (letter.singletonKey && isJobKind(kind) && (await keyIsLive(boss, kind, letter.singletonKey))) {
        superseded.push(letter.id);
      }
    }
  }
  if (superseded.length) {
    await boss.deleteJob(DEAD_LETTER_QUEUE, superseded);
    logger.info({ removed: superseded.length }, 'Superseded dead letters removed');
  }
  return superseded.length;
}
