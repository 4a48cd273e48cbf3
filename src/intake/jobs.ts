/**
 * Job intents: what intake hands to the queue. Every notification shape is normalised to a list of these
 * (contract section 4); the worker turns them into assessments later.
 */
import { jobKey } from '../queue/jobs.ts';

/** The patient is known (a Patient resource, or a resource whose subject/patient is `Patient/x`). */
export interface AssessPatientJob {
  kind: 'assess-patient';
  patientId: string;
}

/** Only a reference is known (id-only payloads, deletes, a PUT without a usable body); the worker finds the patient. */
export interface ResolveResourceJob {
  kind: 'resolve-resource';
  resourceType: string;
  id: string;
  deleted: boolean;
  /** Only the patients the resource was about before (it was updated, perhaps moved): issue #11 item 3. */
  earlierSubjects?: true;
}

export type CatchUpReason =
  | 'empty-notification'
  | 'event-gap'
  | 'heartbeat-gap'
  | 'counter-reset'
  | 'oversized'
  | 'poll'
  | 'handshake';

/** Nothing is named (empty notifications) or events were missed: the worker asks the server what changed. */
export interface CatchUpJob {
  kind: 'catch-up';
  reason: CatchUpReason;
  subscriptionId?: string;
  sinceEventNumber?: number;
}

export type JobIntent = AssessPatientJob | ResolveResourceJob | CatchUpJob;

/** Which catch-up reason wins when one notification gives several for the same subscription. */
const REASON_RANK: Record<CatchUpReason, number> = {
  'counter-reset': 7,
  'event-gap': 6,
  oversized: 5,
  'heartbeat-gap': 4,
  handshake: 3,
  'empty-notification': 2,
  poll: 1,
};

/** Jobs that fold into one: those with the queue's job key, and catch-ups of one subscription (merged below). */
function keyOf(job: JobIntent): string {
  return job.kind === 'catch-up' ? `catch-up|${job.subscriptionId ?? ''}` : `${job.kind}|${jobKey(job)}`;
}

/**
 * Removes duplicate jobs, keeping first-seen order. Catch-ups for the same subscription merge into one:
 * the strongest reason, and the lowest `sinceEventNumber` (absent = from the start, so absent wins).
 * A resolve-resource for a resource that is also named as deleted keeps only the deleted one.
 */
export function dedupeJobs(jobs: readonly JobIntent[]): JobIntent[] {
  const byKey = new Map<string, JobIntent>();
  const deletedKeys = new Set(
    jobs.flatMap((j) => (j.kind === 'resolve-resource' && j.deleted ? [keyOf({ ...j, deleted: false })] : [])),
  );
  for (const job of jobs) {
    const key = keyOf(job);
    if (deletedKeys.has(key)) continue;
    const seen = byKey.get(key);
    if (!seen) {
      byKey.set(key, job.kind === 'catch-up' ? { ...job } : job);
      continue;
    }
    if (seen.kind === 'catch-up' && job.kind === 'catch-up') {
      if (REASON_RANK[job.reason] > REASON_RANK[seen.reason]) seen.reason = job.reason;
      if (seen.sinceEventNumber === undefined || job.sinceEventNumber === undefined) delete seen.sinceEventNumber;
      else seen.sinceEventNumber = Math.min(seen.sinceEventNumber, job.sinceEventNumber);
    }
  }
  return [...byKey.values()];
}
