/**
 * Records what the notification intake hands to the queue of a running service, apart from what the worker itself
 * queues (a resolved resource's patient, a catch-up's changed patients): the attack tests assert that a refused
 * request queued nothing, so only the intake's calls may count.
 */
import type { JobQueue, JobRequest } from '../../src/queue/job-queue.ts';

export interface IntakeCalls {
  /** Every enqueue call made while handling a notification, in order. */
  calls: JobRequest[][];
  /** Makes the next `n` intake calls fail, as when the database is gone. */
  failNext(n: number): void;
}

/** True when the current call was made, synchronously or through awaits, by the notifications router. */
function fromIntake(): boolean {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 100;
  const stack = new Error().stack ?? '';
  Error.stackTraceLimit = limit;
  return /notifications-router\.ts/.test(stack);
}

export function recordIntakeCalls(queue: JobQueue): IntakeCalls {
  const calls: JobRequest[][] = [];
  let failures = 0;
  const enqueue = queue.enqueue.bind(queue);
  queue.enqueue = async (jobs, options) => {
    if (fromIntake()) {
      if (failures > 0) {
        failures--;
        throw new Error('queue unavailable');
      }
      calls.push([...jobs]);
    }
    return enqueue(jobs, options);
  };
  return {
    calls,
    failNext: (n) => {
      failures = n;
    },
  };
}
