/**
 * Wake-ups inside this process, for a database no other process uses (PGlite: one process owns its directory).
 *
 * pg-boss's NOTIFY wakes every idle worker of a queue for each commit with a runnable job: on a queue with four idle
 * slots, one fetch finds the job and three find nothing. On PGlite every statement runs on this process's event loop,
 * one after another, so those empty fetches sit in front of the intake's commits (the acknowledgement waits on them).
 * Here the queue's NOTIFY is off; the commit that queued runnable jobs wakes as many idle slots as it queued jobs
 * (worker-pool.ts), across every queue instance on the database in this process. Jobs that become due later
 * (retries, throttled follow-ups) are found by the idle slots' polling, as with NOTIFY.
 */
import type { JobKind } from './jobs.ts';

/** Wakes up to `jobs` idle slots of the kind; returns how many it woke. */
export type WakeIdle = (kind: JobKind, jobs: number) => number;

export interface LocalWakeups {
  /** A queue instance's worker pools join; the returned function leaves. */
  join(wake: WakeIdle): () => void;
  /** After a commit: wakes idle slots for the runnable jobs it queued, per kind. */
  wake(counts: ReadonlyMap<JobKind, number>): void;
}

const byDatabase = new WeakMap<object, Set<WakeIdle>>();

/**
 * The wake-ups of one database in this process (shared by every queue instance opened on it).
 * @param database - The database object (its identity is the key).
 * @returns Join and wake.
 */
export function localWakeups(database: object): LocalWakeups {
  let members = byDatabase.get(database);
  if (!members) {
    members = new Set();
    byDatabase.set(database, members);
  }
  const joined = members;
  return {
    join(wake) {
      joined.add(wake);
      return () => void joined.delete(wake);
    },
    wake(counts) {
      for (const [kind, jobs] of counts) {
        let left = jobs;
        for (const wakeIdle of joined) {
          if (left <= 0) break;
          left -= wakeIdle(kind, left);
        }
      }
    },
  };
}
