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
 * Topic-based notifications: handshake and heartbeat queue no assessment; a gap in events-since-subscription-start
 * against the last number seen gives a catch-up; the number last seen again is a duplicate (200, nothing queued); a
 * lower one means the server restarted counting without a handshake (HAPI keeps its count in memory) or an old
 * redelivery, which cannot be told apart: its events are queued with a catch-up from the poll checkpoint, and the
 * number recorded, so nothing is lost either way (an old redelivery costs one assessment and one search);
 * `empty` payloads give a catch-up. https://hl7.org/fhir/uv/subscriptions-backport/STU1.1/notifications.html
 *
 * Pure apart from reading the tracker: the tracker writes come back as `eventNumbers`, for the caller to apply
 * after the jobs are durably queued (so a failed enqueue never turns a redelivery into a "duplicate").
 */
import type { OperationOutcome } from '@medplum/fhirtypes';
import type { z } from 'zod';
import { isFhirId } from '../fhir-model/ids.ts';
import { decodeUtf8, parseJsonSafely } from '../fhir-model/json.ts';
import {
  allOk,
  badRequest,
  OutcomeError,
  outcome,
  unsupportedMediaType,
  zodIssuesToOutcome,
} from '../fhir-model/outcomes.ts';
import { parseReference, type ResourceKey } from '../fhir-model/references.ts';
import { isAdapterWritten } from '../fhir-model/resource-owner.ts';
import { isKnownResourceType } from '../fhir-model/resource-types.ts';
import { INPUT_RESOURCE_TYPES } from '../fhir-model/watched-inputs.ts';
import type { HeaderBag } from './authenticate.ts';
import type { EventNumberTracker, EventNumberUpdate } from './event-number-tracker.ts';
import { type CatchUpJob, dedupeJobs, type JobIntent } from './jobs.ts';
import {
  BundleSchema,
  isTopicNotificationBundle,
  type NotificationStatus,
  type NotificationType,
  type ParsedEntry,
  type ParsedResource,
  ResourceSchema,
  type TopicNotificationBundle,
  type TransactionBundle,
} from './notification-schemas.ts';

export interface NotificationRequest {
  /** HTTP method: POST, PUT or DELETE. */
  method: string;
  /** Path parameters of PUT/DELETE /notifications/:type/:id. */
  params: { type?: string; id?: string };
  /** Request headers, lowercased names (Node's IncomingHttpHeaders). */
  headers: HeaderBag;
  /** The exact body bytes (empty Buffer when there is no body). */
  rawBody: Buffer;
  /** The Content-Type header, if any. */
  contentType?: string | undefined;
}

export type NotificationShape =
  | 'resource'
  | 'medplum-delete'
  | 'hapi-empty'
  | 'hapi-put'
  | 'hapi-delete'
  | 'backport-r4'
  | 'r4b'
  | 'r5'
  | 'transaction';

export interface NotificationReply {
  status: number;
  body: OperationOutcome;
}

export interface ParsedNotification {
  shape: NotificationShape;
  /** Topic-based notifications only. */
  subscriptionId?: string;
  notificationType?: NotificationType;
  /** True when every event number was already seen: nothing is queued. */
  duplicate: boolean;
  jobs: JobIntent[];
  /** Tracker writes to apply (commitEventNumbers) once `jobs` are queued. */
  eventNumbers: EventNumberUpdate[];
  reply: NotificationReply;
}

export const REPLY_TEXT = {
  accepted: 'Notification accepted',
  nothingToDo: 'Notification accepted; nothing to assess',
  duplicate: 'Duplicate notification ignored',
  handshake: 'Handshake accepted',
  heartbeat: 'Heartbeat accepted',
  status: 'Subscription status accepted',
} as const;

export const ERROR_TEXT = {
  invalid: 'Invalid notification',
  mediaType: 'Unsupported media type: send application/fhir+json, application/json or an empty body',
  charset: 'Unsupported charset: send UTF-8',
  method: 'Method not allowed',
  urlType: 'Unknown resource type in the URL',
  urlId: 'Invalid resource id in the URL',
  typeMismatch: 'Resource type does not match the URL',
  idMismatch: 'Resource id does not match the URL',
  deletedHeader: 'X-Medplum-Deleted-Resource must be Type/id',
  reference: 'Invalid reference: unknown type or invalid id',
  tracker: 'Event number store unavailable',
} as const;

const MAX_REPORTED_ISSUES = 20;

/**
 * Classifies one notification request and returns the jobs it implies and the reply to send.
 * Throws OutcomeError: 400 (malformed JSON, unknown shape, bad ids), 415 (media type), 503 (tracker).
 * Authentication is not done here: call {@link authenticate} first, over the same raw bytes.
 */
export async function parseNotification(
  req: NotificationRequest,
  tracker: EventNumberTracker,
): Promise<ParsedNotification> {
  const method = req.method.toUpperCase();
  const hasBody = req.rawBody.some((b) => b !== 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d);
  const bodyKind = hasBody ? classifyContentType(req.contentType) : 'none';

  if (method === 'DELETE') {
    const key = keyFromPath(req.params);
    return simple('hapi-delete', jobsForReference(key, true));
  }

  if (method === 'PUT') {
    const key = keyFromPath(req.params);
    if (bodyKind !== 'json') return simple('hapi-put', jobsForReference(key, false));
    const body = parseJsonSafely(decodeUtf8(req.rawBody));
    if (isEmptyObject(body)) return simple('hapi-put', jobsForReference(key, false));
    const resource = parseWith(ResourceSchema, body);
    if (resource.resourceType !== key.resourceType) throw badRequest(ERROR_TEXT.typeMismatch, ['resourceType']);
    if (resource.id !== undefined && resource.id !== key.id) throw badRequest(ERROR_TEXT.idMismatch, ['id']);
    return simple('hapi-put', jobsForResource(resource, key, false));
  }

  if (method !== 'POST') throw new OutcomeError(outcome('not-supported', ERROR_TEXT.method), 405);

  if (bodyKind !== 'json') return simple('hapi-empty', [{ kind: 'catch-up', reason: 'empty-notification' }]);

  const body = parseJsonSafely(decodeUtf8(req.rawBody));
  const interaction = headerValue(req.headers, 'x-medplum-interaction')?.toLowerCase();
  const deletedHeader = headerValue(req.headers, 'x-medplum-deleted-resource');
  if (interaction === 'delete' || deletedHeader !== undefined) return medplumDelete(body, deletedHeader);

  if (isObject(body) && body.resourceType === 'Bundle') {
    const bundle = parseWith(BundleSchema, body);
    if (isTopicNotificationBundle(bundle)) return topicNotification(bundle, tracker);
    return simple('transaction', entryJobs((bundle as TransactionBundle).entry ?? [], 0).jobs);
  }

  const resource = parseWith(ResourceSchema, body);
  return simple('resource', jobsForResource(resource, undefined, false));
}

// ---------------------------------------------------------------------------------------------------------------
// Request-level helpers

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
  if (type !== 'application/json' && type !== 'application/fhir+json') throw unsupportedMediaType(ERROR_TEXT.mediaType);
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

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
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

function replyFor(text: string): NotificationReply {
  return { status: 200, body: allOk(text) };
}

function simple(shape: NotificationShape, jobs: JobIntent[]): ParsedNotification {
  const deduped = dedupeJobs(jobs);
  return {
    shape,
    duplicate: false,
    jobs: deduped,
    eventNumbers: [],
    reply: replyFor(deduped.length ? REPLY_TEXT.accepted : REPLY_TEXT.nothingToDo),
  };
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

// ---------------------------------------------------------------------------------------------------------------
// Resources and references -> jobs

function keyString(key: ResourceKey): string {
  return `${key.resourceType}/${key.id}`;
}

/** A reference alone: a Patient is assessed directly, any other input type is resolved by the worker. */
function jobsForReference(key: ResourceKey, deleted: boolean): JobIntent[] {
  if (!INPUT_RESOURCE_TYPES.has(key.resourceType)) return [];
  if (key.resourceType === 'Patient' && !deleted) return [{ kind: 'assess-patient', patientId: key.id }];
  return [{ kind: 'resolve-resource', resourceType: key.resourceType, id: key.id, deleted }];
}

/**
 * A full resource: its Patient (itself, or its subject/patient reference) is assessed. When the patient reference is
 * missing or not a literal reference (urn:uuid, contained), the worker resolves the resource by type and id instead.
 */
function jobsForResource(resource: ParsedResource, fallback: ResourceKey | undefined, deleted: boolean): JobIntent[] {
  // The adapter's own writes must not trigger a reassessment.
  if (isAdapterWritten(resource) || !INPUT_RESOURCE_TYPES.has(resource.resourceType)) return [];
  const key: ResourceKey | undefined =
    resource.id !== undefined && isKnownResourceType(resource.resourceType)
      ? { resourceType: resource.resourceType, id: resource.id }
      : fallback;
  if (resource.resourceType === 'Patient') return key ? jobsForReference(key, deleted) : [];
  const patientRef =
    resource.resourceType === 'BodyStructure' ? resource.patient : 'subject' in resource ? resource.subject : undefined;
  const target = patientRef?.target;
  if (target?.resourceType === 'Patient') return [{ kind: 'assess-patient', patientId: target.id }];
  if (target) return []; // subject is a Group, Device, Location...: not a patient's data
  return key ? [{ kind: 'resolve-resource', resourceType: key.resourceType, id: key.id, deleted }] : [];
}

/** The resource an entry names: fullUrl, else request.url. Shaped-but-invalid ids are refused with their path. */
function entryKey(entry: ParsedEntry, index: number): ResourceKey | undefined {
  for (const [field, value] of [
    ['fullUrl', entry.fullUrl],
    ['request.url', entry.request?.url],
  ] as const) {
    if (value === undefined) continue;
    const parsed = parseReference(value);
    if (parsed.kind === 'literal') return parsed.key;
    if (parsed.kind === 'invalid') throw badRequest(ERROR_TEXT.reference, [`entry.${index}.${field}`]);
  }
  return undefined;
}

/** Jobs for Bundle entries (from `offset` on, for the path in errors); `covered` = resources already handled. */
function entryJobs(
  entries: readonly ParsedEntry[],
  offset: number,
): { jobs: JobIntent[]; covered: Set<string>; named: boolean } {
  const jobs: JobIntent[] = [];
  const covered = new Set<string>();
  let named = false;
  entries.forEach((entry, i) => {
    const urlKey = entryKey(entry, i + offset);
    const deleted = entry.request?.method === 'DELETE';
    if (entry.resource) {
      named = true;
      jobs.push(...jobsForResource(entry.resource, urlKey, deleted));
      const id = entry.resource.id ?? urlKey?.id;
      if (id !== undefined) covered.add(`${entry.resource.resourceType}/${id}`);
    } else if (urlKey) {
      named = true;
      jobs.push(...jobsForReference(urlKey, deleted));
      covered.add(keyString(urlKey));
    }
  });
  return { jobs, covered, named };
}

// ---------------------------------------------------------------------------------------------------------------
// Topic-based notifications (Backport R4, R4B, R5)

async function readTracker(tracker: EventNumberTracker, subscriptionId: string): Promise<number | undefined> {
  try {
    return await tracker.get(subscriptionId);
  } catch (err) {
    throw new OutcomeError(outcome('transient', ERROR_TEXT.tracker), 503, { cause: err });
  }
}

async function topicNotification(
  bundle: TopicNotificationBundle,
  tracker: EventNumberTracker,
): Promise<ParsedNotification> {
  const [first, ...rest] = bundle.entry;
  const status: NotificationStatus = first.resource;
  const shape: NotificationShape =
    status.form === 'parameters' ? 'backport-r4' : bundle.type === 'subscription-notification' ? 'r5' : 'r4b';
  const subscriptionId = status.subscriptionId;
  const last = await readTracker(tracker, subscriptionId);

  const numbers = status.events.flatMap((e) => (e.eventNumber === undefined ? [] : [e.eventNumber]));
  const candidates = [
    ...numbers,
    ...(status.eventsSinceSubscriptionStart === undefined ? [] : [status.eventsSinceSubscriptionStart]),
  ];
  const highest = candidates.length ? Math.max(...candidates) : undefined;
  const since = last === undefined ? undefined : last + 1;
  const catchUp = (reason: CatchUpJob['reason'], sinceEventNumber: number | undefined): CatchUpJob =>
    sinceEventNumber === undefined
      ? { kind: 'catch-up', reason, subscriptionId }
      : { kind: 'catch-up', reason, subscriptionId, sinceEventNumber };

  const base = { shape, subscriptionId, notificationType: status.type, duplicate: false };
  const record: EventNumberUpdate[] =
    highest !== undefined && highest !== last ? [{ subscriptionId, eventNumber: highest }] : [];

  if (status.type === 'handshake') {
    // A handshake for a subscription we already knew means it was (re)activated: whatever happened meanwhile may be
    // lost. A brand-new subscription has nothing to catch up on. A lower count means the server restarted counting.
    const jobs =
      last !== undefined && highest !== last
        ? [catchUp('handshake', highest !== undefined && highest > last ? since : undefined)]
        : [];
    return { ...base, jobs, eventNumbers: record, reply: replyFor(REPLY_TEXT.handshake) };
  }

  if (status.type === 'heartbeat' || status.type === 'query-status') {
    const gap = last !== undefined && highest !== undefined && highest > last;
    return {
      ...base,
      jobs: gap ? [catchUp('heartbeat-gap', since)] : [],
      eventNumbers: record,
      reply: replyFor(status.type === 'heartbeat' ? REPLY_TEXT.heartbeat : REPLY_TEXT.status),
    };
  }

  // event-notification
  if (last !== undefined && highest === last) {
    return { ...base, duplicate: true, jobs: [], eventNumbers: [], reply: replyFor(REPLY_TEXT.duplicate) };
  }
  const counterReset = last !== undefined && highest !== undefined && highest < last;

  const fromEntries = entryJobs(rest, 1);
  const jobs: JobIntent[] = [...fromEntries.jobs];
  let named = fromEntries.named;
  for (const event of status.events) {
    if (event.focus) {
      named = true;
      if (!fromEntries.covered.has(keyString(event.focus))) jobs.push(...jobsForReference(event.focus, false));
    }
    for (const context of event.additionalContext) {
      if (context.resourceType === 'Patient') {
        named = true;
        jobs.push({ kind: 'assess-patient', patientId: context.id });
      }
    }
  }

  const count = Math.max(status.events.length, 1);
  if (counterReset) jobs.push(catchUp('counter-reset', undefined));
  else if (last !== undefined && highest !== undefined && highest > last + count)
    jobs.push(catchUp('event-gap', since));
  if (!named) {
    const lowest = numbers.length ? Math.min(...numbers) : highest;
    jobs.push(catchUp('empty-notification', lowest));
  }

  const deduped = dedupeJobs(jobs);
  return {
    ...base,
    jobs: deduped,
    eventNumbers: record,
    reply: replyFor(deduped.length ? REPLY_TEXT.accepted : REPLY_TEXT.nothingToDo),
  };
}
