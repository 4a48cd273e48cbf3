/**
 * The queue's job kinds, their payloads and their coalescing keys. No I/O; importable without pg-boss.
 *
 * Each kind is a pg-boss queue with the `stately` policy: per key at most one job waiting, one retrying and one
 * running. A burst for one key collapses into one waiting job, a key never runs twice at once (on any process
 * sharing the database), and a job sent while its key is running waits and runs after it, so nothing is missed.
 * https://pgboss.io/api/queues
 */
import { z } from 'zod';
import { FhirIdSchema } from '../fhir-model/ids.ts';
import { RESOURCE_TYPE_NAME } from '../fhir-model/resource-types.ts';

export const JOB_KINDS = ['assess-patient', 'resolve-resource', 'catch-up'] as const;
export type JobKind = (typeof JOB_KINDS)[number];

export const JOB_PAYLOAD_SCHEMAS = {
  'assess-patient': z.object({ patientId: FhirIdSchema }).strict(),
  'resolve-resource': z
    .object({
      resourceType: z.string().regex(RESOURCE_TYPE_NAME),
      id: FhirIdSchema,
      deleted: z.boolean(),
      earlierSubjects: z.literal(true).optional(),
    })
    .strict(),
  'catch-up': z
    .object({
      reason: z.string().regex(/^[\w.\-:]{1,64}$/),
      subscriptionId: FhirIdSchema.optional(),
      sinceEventNumber: z.number().int().nonnegative().optional(),
    })
    .strict(),
} as const;

export type JobPayloads = { [K in JobKind]: z.infer<(typeof JOB_PAYLOAD_SCHEMAS)[K]> };

/** One job to enqueue: its kind and its payload's fields, flat (the shape intake's JobIntent has). */
export type JobRequest = { [K in JobKind]: { kind: K } & JobPayloads[K] }[JobKind];

/**
 * The key jobs of a kind coalesce and exclude each other on (the one job-key function: intake de-duplicates by it too).
 * - assess-patient: the patient id: one assessment per patient at a time, one more queued behind it.
 * - resolve-resource: type/id, deletions (and the look for earlier subjects) kept apart so neither is folded into an
 *   update.
 * - catch-up: subscription and starting event, so a catch-up from an earlier event is never folded into a later one.
 */
export function jobKey(request: JobRequest): string {
  switch (request.kind) {
    case 'assess-patient':
      return request.patientId;
    case 'resolve-resource':
      return `${request.resourceType}/${request.id}${request.deleted ? '/deleted' : ''}${request.earlierSubjects ? '/earlier' : ''}`;
    case 'catch-up':
      return `${request.subscriptionId ?? '_poll'}@${request.sinceEventNumber ?? '_checkpoint'}`;
  }
}

/** Splits a request into its kind and its validated payload; the zod issues when the payload is invalid. */
export function parseJobRequest(
  request: unknown,
):
  | { ok: true; kind: JobKind; payload: JobPayloads[JobKind]; key: string }
  | { ok: false; issues: { path: PropertyKey[]; message: string }[] } {
  const { kind, ...payload } = (request ?? {}) as { kind?: unknown };
  if (!(JOB_KINDS as readonly unknown[]).includes(kind)) {
    return { ok: false, issues: [{ path: ['kind'], message: 'Unknown job kind' }] };
  }
  const parsed = JOB_PAYLOAD_SCHEMAS[kind as JobKind].safeParse(payload);
  if (!parsed.success)
    return { ok: false, issues: parsed.error.issues.map((i) => ({ path: i.path, message: i.message })) };
  const valid = { kind, ...parsed.data } as JobRequest;
  return { ok: true, kind: valid.kind, payload: parsed.data, key: jobKey(valid) };
}
