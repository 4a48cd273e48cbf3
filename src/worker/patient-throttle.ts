/**
 * Per-patient throttle: a patient whose assessment finished less than `windowMs` ago is assessed again only when
 * the window has passed. The queue already folds a burst into one waiting job per patient; this folds a stream
 * (a transaction notified resource by resource, an interface engine writing one result a second) into at most one
 * more assessment per window. The first assessment is never delayed, and retries are not throttled.
 * Per process: two replicas may each assess a patient once in a window, never at the same time (the queue's key).
 */
export interface PatientThrottle {
  /** Milliseconds to wait before assessing this patient again; 0 = go now. */
  delayFor(patientId: string): number;
  /** Records that an assessment of this patient has just finished. */
  finished(patientId: string): void;
}

const PRUNE_AT = 10_000;

export function createPatientThrottle(windowMs: number, now: () => number = Date.now): PatientThrottle {
  const lastFinished = new Map<string, number>();
  return {
    delayFor(patientId) {
      if (windowMs <= 0) return 0;
      const last = lastFinished.get(patientId);
      return last === undefined ? 0 : Math.max(0, last + windowMs - now());
    },
    finished(patientId) {
      if (windowMs <= 0) return;
      const t = now();
      lastFinished.delete(patientId);
      lastFinished.set(patientId, t);
      // Entries older than the window no longer throttle anything; drop them, oldest first.
      if (lastFinished.size > PRUNE_AT) {
        for (const [id, at] of lastFinished) {
          if (at + windowMs > t) break;
          lastFinished.delete(id);
        }
      }
    },
  };
}
