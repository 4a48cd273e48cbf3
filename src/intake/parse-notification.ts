/**
 * Notification intake: every rest-hook shape in, a normalised list of job intents out (contract section 4).
 *
 * | shape          | request                                                                  | jobs                              |
 * |----------------|--------------------------------------------------------------------------|-----------------------------------|
 * | `resource`     | POST a resource (Medplum rest-hook; any server posting the resource)      | assess-patient / resolve-resource |
 * | `medplum-delete` | POST `{}` + `X-Medplum-Interaction: delete` + `X-Medplum-Deleted-Resource` | resolve-resource (deleted)      |
 * | `hapi-empty`   | POST with an empty or form-encoded body (HAPI rest-hook without payload)  | catch-up empty-notification       |
 * | `hapi-put`     | PUT /notifications/:type/:id with the resource, or without a usable body  | assess-patient / resolve-resource |
 * | `hapi-delete`  | DELETE /notifications/:type/:id                                           | resolve-resource (deleted)        |
 * | `backport-r4`  | Bundle `history`, first entry Parameters (Subscriptions R5 Backport, R4)   | per event, see below              |
 * | `r4b`          | Bundle `history`, first entry SubscriptionStatus (Backport on R4B)        | per event                         |
 * | `r5`           | Bundle `subscription-notification`, first entry SubscriptionStatus (R5)  | per event                         |
 * | `transaction`  | Bundle `transaction` / `batch` (older servers)                            | per entry                         |
 *
 * Topic-based notifications: topic-notification.ts (a lower event count than the last seen means the server restarted
 * counting without a handshake, as HAPI keeps its count in memory, or an old redelivery, which cannot be told apart:
 * its events are queued with a catch-up from the poll checkpoint, and the number recorded, so nothing is lost either
 * way; an old redelivery costs one assessment and one search). Resources and references -> jobs: notification-jobs.ts.
 *
 * Pure apart from reading the tracker: the tracker writes come back as `eventNumbers`, for the caller to apply
 * after the jobs are durably queued (so a failed enqueue never turns a redelivery into a "duplicate").
 */
import type { z } from 'zod';
import { isFhirId } from '../fhir-model/ids.ts';
import { decodeUtf8, isObject, parseJsonSafely } from '../fhir-model/json.ts';
import { badRequest, OutcomeError, outcome, unsupportedMediaType, zodIssuesToOutcome } from '../fhir-model/outcomes.ts';
import { parseReference, type ResourceKey } from '../fhir-model/references.ts';
import { isKnownResourceType } from '../fhir-model/resource-types.ts';
import type { HeaderBag } from './authenticate.ts';
import type { EventNumberTracker } from './event-number-tracker.ts';
import type { JobIntent } from './jobs.ts';
import { boundNotification, DEFAULT_MAX_PATIENTS, tooManyEntries, trimStatusEvents } from './notification-bound.ts';
import { entryJobs, jobsForReference, jobsForResource } from './notification-jobs.ts';
import { ERROR_TEXT, type NotificationRequest, type ParsedNotification, simple } from './notification-model.ts';
import {
  BundleSchema,
  isTopicNotificationBundle,
  ResourceSchema,
  type TransactionBundle,
} from './notification-schemas.ts';
import { topicNotification } from './topic-notification.ts';

export type {
  NotificationReply,
  NotificationRequest,
  NotificationShape,
  ParsedNotification,
} from './notification-model.ts';
export { ERROR_TEXT, REPLY_TEXT } from './notification-model.ts';

const MAX_REPORTED_ISSUES = 20;

/**
 * Classifies one notification request and returns the jobs it implies and the reply to send; past `maxPatients`
 * (default 100) named resources or assessments, one catch-up instead (notification-bound.ts).
 * Throws OutcomeError: 400 (malformed JSON, unknown shape, bad ids), 415 (media type), 503 (tracker).
 * Authentication is not done here: call {@link authenticate} first, over the same raw bytes.
 */
export async function parseNotification(
  req: NotificationRequest,
  tracker: EventNumberTracker,
  options: { maxPatients?: number } = {},
): Promise<ParsedNotification> {
  const maxPatients = options.maxPatients ?? DEFAULT_MAX_PATIENTS;
  const parsed = await parseUnbounded(req, tracker, maxPatients);
  return boundNotification(parsed.notification, maxPatients, parsed.truncated);
}

/** Every shape; a Bundle past the bound is read only as far as its first entry (`truncated`). */
async function parseUnbounded(
  req: NotificationRequest,
  tracker: EventNumberTracker,
  maxPatients: number,
): Promise<{ notification: ParsedNotification; truncated: boolean }> {
  const whole = (notification: ParsedNotification) => ({ notification, truncated: false });
  const method = req.method.toUpperCase();
  const hasBody = req.rawBody.some((b) => b !== 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d);
  const bodyKind = hasBody ? classifyContentType(req.contentType) : 'none';

  if (method === 'DELETE') {
    const key = keyFromPath(req.params);
    return whole(simple('hapi-delete', jobsForReference(key, true)));
  }

  if (method === 'PUT') {
    const key = keyFromPath(req.params);
    if (bodyKind !== 'json') return whole(simple('hapi-put', jobsForReference(key, false)));
    const body = parseJsonSafely(decodeUtf8(req.rawBody));
    if (isEmptyObject(body)) return whole(simple('hapi-put', jobsForReference(key, false)));
    const resource = parseWith(ResourceSchema, body);
    if (resource.resourceType !== key.resourceType) throw badRequest(ERROR_TEXT.typeMismatch, ['resourceType']);
    if (resource.id !== undefined && resource.id !== key.id) throw badRequest(ERROR_TEXT.idMismatch, ['id']);
    return whole(simple('hapi-put', jobsForResource(resource, key, false)));
  }

  if (method !== 'POST') throw new OutcomeError(outcome('not-supported', ERROR_TEXT.method), 405);

  if (bodyKind !== 'json') return whole(simple('hapi-empty', [{ kind: 'catch-up', reason: 'empty-notification' }]));

  const body = parseJsonSafely(decodeUtf8(req.rawBody));
  const interaction = headerValue(req.headers, 'x-medplum-interaction')?.toLowerCase();
  const deletedHeader = headerValue(req.headers, 'x-medplum-deleted-resource');
  if (interaction === 'delete' || deletedHeader !== undefined) return whole(medplumDelete(body, deletedHeader));

  if (isObject(body) && body.resourceType === 'Bundle') {
    // Past the bound, only the first entry (a topic notification's status) is read: the rest becomes a catch-up.
    const entries = Array.isArray(body.entry) ? (body.entry as unknown[]) : [];
    const status = trimStatusEvents(entries[0], maxPatients);
    const truncated = tooManyEntries(entries, maxPatients) || status.truncated;
    const kept = tooManyEntries(entries, maxPatients) ? [status.entry] : [status.entry, ...entries.slice(1)];
    const bundle = parseWith(BundleSchema, truncated ? { ...body, entry: entries.length ? kept : [] } : body);
    const notification = isTopicNotificationBundle(bundle)
      ? await topicNotification(bundle, tracker)
      : simple('transaction', entryJobs((bundle as TransactionBundle).entry ?? [], 0).jobs);
    return { notification, truncated };
  }

  const resource = parseWith(ResourceSchema, body);
  const jobs = jobsForResource(resource, undefined, false);
  // An update may have moved the resource to another patient: the one it was about before is reassessed too.
  if (interaction === 'update') jobs.push(...earlierSubjectsJob(resource, jobs));
  return whole(simple('resource', jobs));
}

// ---------------------------------------------------------------------------------------------------------------
// Request-level helpers

/** FHIR JSON (and `application/json+fhir`, the DSTU2-era name older servers still send), or plain JSON. */
const JSON_MEDIA_TYPES = new Set(['application/fhir+json', 'application/json+fhir', 'application/json']);

function classifyContentType(contentType: string | undefined): 'json' | 'form' {
  if (contentType === undefined || contentType.trim() === '') return 'json'; // a body without a type: try JSON
  const [media = '', ...params] = contentType.split(';');
  const charset = params
    .map((p) => p.trim().toLowerCase())
    .find((p) => p.startsWith('charset='))
    ?.slice('charset='.length)
    .replace(/"/g, '');
  const type = media.trim().toLowerCase();
  if (type === 'application/x-www-form-urlencoded') return 'form';
  if (!JSON_MEDIA_TYPES.has(type)) throw unsupportedMediaType(ERROR_TEXT.mediaType);
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8')
    throw unsupportedMediaType(ERROR_TEXT.charset);
  return 'json';
}

function headerValue(headers: HeaderBag, name: string): string | undefined {
  const value = headers[name];
  return typeof value === 'string' ? value.trim() : Array.isArray(value) ? value[0]?.trim() : undefined;
}

function keyFromPath(params: { type?: string; id?: string }): ResourceKey {
  const { type, id } = params;
  if (type === undefined || !isKnownResourceType(type)) throw badRequest(ERROR_TEXT.urlType, ['type']);
  if (id === undefined || !isFhirId(id)) throw badRequest(ERROR_TEXT.urlId, ['id']);
  return { resourceType: type, id };
}

function isEmptyObject(value: unknown): boolean {
  return isObject(value) && Object.keys(value).length === 0;
}

function parseWith<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.slice(0, MAX_REPORTED_ISSUES);
  throw new OutcomeError(zodIssuesToOutcome(issues, ERROR_TEXT.invalid));
}

function medplumDelete(body: unknown, deletedHeader: string | undefined): ParsedNotification {
  if (deletedHeader !== undefined) {
    const parsed = parseReference(deletedHeader);
    if (parsed.kind !== 'literal') throw badRequest(ERROR_TEXT.deletedHeader, ['X-Medplum-Deleted-Resource']);
    return simple('medplum-delete', jobsForReference(parsed.key, true));
  }
  // `delete` without the header: only usable when the body is the deleted resource itself.
  if (isEmptyObject(body)) throw badRequest(ERROR_TEXT.deletedHeader, ['X-Medplum-Deleted-Resource']);
  const resource = parseWith(ResourceSchema, body);
  return simple('medplum-delete', jobsForResource(resource, undefined, true));
}

/** For an updated resource about a patient (not a Patient): a job that reassesses the patients it was about before. */
function earlierSubjectsJob(resource: { resourceType: string; id?: string }, jobs: readonly JobIntent[]): JobIntent[] {
  if (resource.resourceType === 'Patient' || resource.id === undefined || !isFhirId(resource.id)) return [];
  if (!jobs.some((j) => j.kind === 'assess-patient')) return [];
  return [
    {
      kind: 'resolve-resource',
      resourceType: resource.resourceType,
      id: resource.id,
      deleted: false,
      earlierSubjects: true,
    },
  ];
}
