/**
 * The bound on the work one notification may queue (NOTIFICATION_MAX_PATIENTS, issue 12 item 5): a notification that
 * names more resources than the bound, or implies more assessments, queues one catch-up instead (the worker asks the
 * server what changed since its checkpoint, which finds the same patients without trusting the sender's list). The
 * entries beyond the bound are counted before they are validated, so a 100,000-entry Bundle costs one JSON.parse, not
 * a schema check per entry, and the event loop stays free for /healthz and other senders meanwhile.
 */
import { type CatchUpJob, dedupeJobs } from './jobs.ts';
import { type ParsedNotification, REPLY_TEXT, replyFor } from './notification-model.ts';

/** The default bound (NOTIFICATION_MAX_PATIENTS' default, src/config.ts). */
export const DEFAULT_MAX_PATIENTS = 100;

/**
 * Whether a parsed JSON Bundle names more entries than the bound allows (a topic-based notification's first entry,
 * its status, not counted).
 * @param entries - The Bundle's `entry` array as parsed, unchecked.
 * @param maxPatients - The bound.
 */
export function tooManyEntries(entries: readonly unknown[], maxPatients: number): boolean {
  return entries.length > maxPatients + 1;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A topic notification's status entry with at most `maxPatients` events (Backport R4 `notification-event`
 * parameters, R4B/R5 `notificationEvent`): past the bound only the last event is kept, unread ones becoming the
 * catch-up, so a status naming 100,000 events is not schema-checked event by event either.
 * @param entry - The Bundle's first entry as parsed, unchecked.
 * @param maxPatients - The bound.
 * @returns The entry (trimmed or as it was) and whether events were left out.
 */
export function trimStatusEvents(entry: unknown, maxPatients: number): { entry: unknown; truncated: boolean } {
  const resource = isObject(entry) ? entry.resource : undefined;
  if (!isObject(resource) || !isObject(entry)) return { entry, truncated: false };
  const [field, isEvent] =
    resource.resourceType === 'Parameters'
      ? ['parameter', (p: unknown) => isObject(p) && p.name === 'notification-event']
      : ['notificationEvent', () => true];
  const list = resource[field];
  if (!Array.isArray(list)) return { entry, truncated: false };
  const events = list.filter(isEvent);
  if (events.length <= maxPatients) return { entry, truncated: false };
  const kept = [...list.filter((p) => !isEvent(p)), events.at(-1)];
  return { entry: { ...entry, resource: { ...resource, [field]: kept } }, truncated: true };
}

/**
 * Applies the bound: past it (or when `forced`, i.e. entries were left unread), the named jobs are replaced by one
 * catch-up of the notification's subscription; catch-ups and a duplicate's nothing stay as they are.
 * @param parsed - The parsed notification.
 * @param maxPatients - The bound.
 * @param forced - Entries were past the bound and were not read.
 * @returns The notification with at most `maxPatients` named jobs.
 */
export function boundNotification(
  parsed: ParsedNotification,
  maxPatients: number,
  forced: boolean,
): ParsedNotification {
  if (parsed.duplicate) return parsed;
  const named = parsed.jobs.filter((j) => j.kind !== 'catch-up');
  if (!forced && named.length <= maxPatients) return parsed;
  const catchUp: CatchUpJob = {
    kind: 'catch-up',
    reason: 'oversized',
    ...(parsed.subscriptionId === undefined ? {} : { subscriptionId: parsed.subscriptionId }),
  };
  const jobs = dedupeJobs([...parsed.jobs.filter((j) => j.kind === 'catch-up'), catchUp]);
  return { ...parsed, jobs, reply: replyFor(REPLY_TEXT.oversized) };
}
