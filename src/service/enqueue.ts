/**
 * How intake, the poller and the workers queue jobs: an assessment of a patient assessed moments ago waits out the
 * throttle window (worker/patient-throttle.ts); the Backport event numbers live in the state store.
 */
import type { EventNumberTracker } from '../intake/event-number-tracker.ts';
import type { JobIntent } from '../intake/jobs.ts';
import type { JobQueue } from '../queue/job-queue.ts';
import type { StateStore } from '../queue/state-store.ts';
import type { PatientThrottle } from '../worker/patient-throttle.ts';

export type Enqueue = (jobs: readonly JobIntent[]) => Promise<void>;

/**
 * Queues jobs, each assess-patient job delayed by what the throttle says for its patient.
 * @param queue - The job queue.
 * @param throttle - The per-patient throttle.
 * @returns The enqueue function.
 */
export function throttledEnqueue(queue: JobQueue, throttle: PatientThrottle): Enqueue {
  return async (jobs) => {
    const byDelay = new Map<number, JobIntent[]>();
    for (const job of jobs) {
      const delay = job.kind === 'assess-patient' ? throttle.delayFor(job.patientId) : 0;
      byDelay.set(delay, [...(byDelay.get(delay) ?? []), job]);
    }
    for (const [delay, group] of byDelay) await queue.enqueue(group, delay > 0 ? { startAfterMs: delay } : {});
  };
}

/** The last event number seen per subscription, kept in the state store. */
export function stateEventTracker(state: StateStore): EventNumberTracker {
  return {
    get: async (id) => {
      const v = await state.get(`event-number:${id}`);
      return typeof v === 'number' ? v : undefined;
    },
    set: (id, n) => state.set(`event-number:${id}`, n),
  };
}
