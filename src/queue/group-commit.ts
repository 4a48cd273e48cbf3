/**
 * Group commit for enqueue: the jobs of every enqueue call that arrives while an insert is being committed wait for it,
 * then go to the database together, in one statement per job kind and one transaction for all of them. One
 * notification is one commit (whatever kinds and delays its jobs have); a FHIR transaction notified resource by
 * resource, whose notifications arrive together, costs a few commits instead of one per notification. A call
 * resolves when the commit holding its jobs is durable, and fails with it (nothing of a failed commit is stored).
 *
 * Jobs of one key coalesce as before: within a call and across the calls of one commit the first one is inserted
 * (the later ones are counted `coalesced` by the call that gave them), and against the queue pg-boss's `stately`
 * unique index keeps one waiting job per key (the insert skips a conflicting row).
 */
import { randomUUID } from 'node:crypto';
import type { JobKind, JobPayloads } from './jobs.ts';

/** One job as inserted (pg-boss's JobInsert fields the queue uses). */
export interface JobRow {
  id: string;
  data: JobPayloads[JobKind];
  singletonKey: string;
  startAfter?: Date;
  priority?: number;
}

/** A job of one enqueue call, validated, ready to insert. */
export interface PlannedJob {
  kind: JobKind;
  key: string;
  data: JobPayloads[JobKind];
  startAfter?: Date;
  priority?: number;
}

export interface CommitResult {
  queued: number;
  coalesced: number;
  ids: string[];
}

/** Inserts the rows of every kind in one commit; resolves to the ids of the rows inserted (not skipped). */
export type InsertAll = (rows: ReadonlyMap<JobKind, JobRow[]>) => Promise<ReadonlySet<string>>;

interface Waiting {
  jobs: readonly PlannedJob[];
  /** Jobs the caller gave (before de-duplication within the call). */
  given: number;
  resolve: (result: CommitResult) => void;
  reject: (err: unknown) => void;
}

/**
 * Creates the group commit over an insert of all rows in one transaction.
 * @param insertAll - Inserts one batch.
 * @returns `commit`: resolves when the jobs are durable, with how many were queued and coalesced.
 */
export function createGroupCommit(insertAll: InsertAll): {
  commit(jobs: readonly PlannedJob[], given: number): Promise<CommitResult>;
} {
  let waiting: Waiting[] = [];
  let flushing = false;

  const flushOnce = async (batch: Waiting[]): Promise<void> => {
    const rows = new Map<JobKind, Map<string, JobRow>>();
    const owned = batch.map((entry) =>
      entry.jobs.flatMap((job) => {
        const byKey = rows.get(job.kind) ?? new Map<string, JobRow>();
        rows.set(job.kind, byKey);
        if (byKey.has(job.key)) return [];
        const row: JobRow = {
          id: randomUUID(),
          data: job.data,
          singletonKey: job.key,
          ...(job.startAfter ? { startAfter: job.startAfter } : {}),
          ...(job.priority ? { priority: job.priority } : {}),
        };
        byKey.set(job.key, row);
        return [row.id];
      }),
    );
    try {
      const inserted = await insertAll(new Map([...rows].map(([kind, byKey]) => [kind, [...byKey.values()]])));
      batch.forEach((entry, i) => {
        const ids = (owned[i] ?? []).filter((id) => inserted.has(id));
        entry.resolve({ queued: ids.length, coalesced: entry.given - ids.length, ids });
      });
    } catch (err) {
      for (const entry of batch) entry.reject(err);
    }
  };

  const flush = async (): Promise<void> => {
    flushing = true;
    try {
      while (waiting.length > 0) {
        const batch = waiting;
        waiting = [];
        await flushOnce(batch);
      }
    } finally {
      flushing = false;
    }
  };

  return {
    commit(jobs, given) {
      if (jobs.length === 0) return Promise.resolve({ queued: 0, coalesced: given, ids: [] });
      return new Promise<CommitResult>((resolve, reject) => {
        waiting.push({ jobs, given, resolve, reject });
        if (!flushing) void flush();
      });
    },
  };
}
