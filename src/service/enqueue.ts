/**
 * How intake, the poller and the workers queue jobs: an assessment of a patient assessed moments ago waits out the
 * throttle window (worker/patient-throttle.ts); the Backport event numbers live in the state store.
 */
import type { EventNumberTracker } from '../intake/event-number-tracker.ts';
import type { JobIntent } from '../intake/jobs.ts';
import type { EnqueueOptions, JobQueue } from '../queue/job-queue.ts';
import type { StateStore } from '../queue/state-store.ts';
import type { PatientThrottle } from '../worker/patient-throttle.ts';

export type Enqueue = (
  jobs: readonly JobIntent[],
  options?: Pick<EnqueueOptions, 'sender' | 'priority'>,
) => Promise<void>;

/**
 * Queues jobs in one call (one commit), each assess-patient job delayed by what the throttle says for its patient.
 * @param queue - The job queue.
 * @param throttle - The per-patient throttle.
 * @returns The enqueue function; `sender` orders jobs fairly across senders, `priority` puts them ahead.
 */
export function throttledEnqueue(queue: JobQueue, throttle: PatientThrottle): Enqueue {
  return async (jobs, options = {}) => {
    await queue.enqueue(jobs, {
      ...options,
      startAfterMs: (job) => (job.kind === 'assess-patient' ? throttle.delayFor(job.patientId) : 0),
    });
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
