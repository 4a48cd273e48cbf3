/**
 * What parsing a notification yields (parse-notification.ts): the request it reads, the shapes it knows, the jobs
 * and the reply; the static texts of its replies and refusals.
 */
import type { OperationOutcome } from '@medplum/fhirtypes';
import { allOk } from '../fhir-model/outcomes.ts';
import type { HeaderBag } from './authenticate.ts';
import type { EventNumberUpdate } from './event-number-tracker.ts';
import { dedupeJobs, type JobIntent } from './jobs.ts';
import type { NotificationType } from './notification-schemas.ts';

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
  /** The peer's address: the sender, for fair ordering, when the notification does not name its Subscription. */
  peer?: string | undefined;
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
  oversized:
    'Notification accepted; it names more patients than NOTIFICATION_MAX_PATIENTS, a catch-up is queued instead',
} as const;

export const ERROR_TEXT = {
  invalid: 'Invalid notification',
  mediaType:
    'Unsupported media type: send application/fhir+json (or application/json+fhir, application/json) or an empty body',
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

/** An accepting reply (200) with a static text. */
export function replyFor(text: string): NotificationReply {
  return { status: 200, body: allOk(text) };
}

/** A notification of a shape without event numbers: its jobs, de-duplicated, and the reply. */
export function simple(shape: NotificationShape, jobs: JobIntent[]): ParsedNotification {
  const deduped = dedupeJobs(jobs);
  return {
    shape,
    duplicate: false,
    jobs: deduped,
    eventNumbers: [],
    reply: replyFor(deduped.length ? REPLY_TEXT.accepted : REPLY_TEXT.nothingToDo),
  };
}
