/**
 * Per-patient throttle: once an assessment of a patient has started, the next one for that patient is queued to
 * start no earlier than `windowMs` later. The queue keeps one waiting job per patient, so every notification in the
 * window folds into that one job: a transaction notified resource by resource, or an interface engine writing one
 * result a second, makes at most one more assessment per window. The first assessment is never delayed.
 * Per process: another replica's intake does not see this process's starts (it may queue without delay); the queue
 * still never runs two assessments of one patient at once.
 */
export interface PatientThrottle {
  /** Milliseconds a new assessment of this patient should wait; 0 = may start now. */
  delayFor(patientId: string): number;
  /** Records that an assessment of this patient is starting now. */
  started(patientId: string): void;
}

const PRUNE_AT = 10_000;

export function createPatientThrottle(windowMs: number, now: () => number = Date.now): PatientThrottle {
  const lastStarted = new Map<string, number>();
  return {
    delayFor(patientId) {
      if (windowMs <= 0) return 0;
      const last = lastStarted.get(patientId);
      return last === undefined ? 0 : Math.max(0, last + windowMs - now());
    },
    started(patientId) {
      if (windowMs <= 0) return;
      const t = now();
      lastStarted.delete(patientId);
      lastStarted.set(patientId, t);
      // Entries older than the window no longer throttle anything; drop them, oldest first (insertion order).
      if (lastStarted.size > PRUNE_AT) {
        for (const [id, at] of lastStarted) {
          if (at + windowMs > t) break;
          lastStarted.delete(id);
        }
      }
    },
  };
}
