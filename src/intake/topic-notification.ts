/**
 * Topic-based notifications (Subscriptions R5 Backport on R4, R4B, R5): handshake and heartbeat queue no assessment;
 * a gap in events-since-subscription-start against the last number seen gives a catch-up; the number last seen again
 * is a duplicate (200, nothing queued); a lower one means the server restarted counting (or an old redelivery): its
 * events are queued with a catch-up from the poll checkpoint. `empty` payloads give a catch-up.
 * https://hl7.org/fhir/uv/subscriptions-backport/STU1.1/notifications.html
 */
import { OutcomeError, outcome } from '../fhir-model/outcomes.ts';
import type { EventNumberTracker, EventNumberUpdate } from './event-number-tracker.ts';
import { type CatchUpJob, dedupeJobs, type JobIntent } from './jobs.ts';
import { entryJobs, jobsForReference, keyString } from './notification-jobs.ts';
import {
  ERROR_TEXT,
  type NotificationShape,
  type ParsedNotification,
  REPLY_TEXT,
  replyFor,
} from './notification-model.ts';
import type { NotificationStatus, TopicNotificationBundle } from './notification-schemas.ts';

async function readTracker(tracker: EventNumberTracker, subscriptionId: string): Promise<number | undefined> {
  try {
    return await tracker.get(subscriptionId);
  } catch (err) {
    throw new OutcomeError(outcome('transient', ERROR_TEXT.tracker), 503, { cause: err });
  }
}

/** Jobs, event numbers and reply of a topic-based notification Bundle. */
export async function topicNotification(
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
