/**
 * One notification, from its exact bytes to the reply, with no HTTP in sight (notifications-router.ts adapts it to
 * express): authenticate over the raw bytes (401; a pre-PR-6557 Medplum delete is let through unverified with one
 * resolve job, legacy-medplum-delete.ts) -> parse (400/415; past NOTIFICATION_MAX_PATIENTS one catch-up) -> a signed
 * delivery already queued within the replay window: 200, nothing queued (replay-guard.ts) -> enqueue the jobs under
 * their sender (fair ordering across senders; a quick durable insert; failure -> 503 so the server retries) -> record
 * event numbers -> the reply (a Bundle where the sender parses one, bundle-reply.ts). Nothing is queued for bad input,
 * and a delivery that failed part way is not remembered as a replay, so its retry goes through.
 */
import type { Bundle, OperationOutcome } from '@medplum/fhirtypes';
import { allOk, OutcomeError, outcome } from '../fhir-model/outcomes.ts';
import { logger } from '../logging.ts';
import { type AuthMethod, authenticateRequest } from './authenticate.ts';
import { replyBody } from './bundle-reply.ts';
import { commitEventNumbers, type EventNumberTracker } from './event-number-tracker.ts';
import type { JobIntent } from './jobs.ts';
import { legacyMedplumDelete, type UnverifiedDeleteLimit } from './legacy-medplum-delete.ts';
import {
  ERROR_TEXT,
  type NotificationRequest,
  type ParsedNotification,
  parseNotification,
} from './parse-notification.ts';
import type { RefusalLog } from './refusal-log.ts';
import { deliveryKey, type ReplayGuard } from './replay-guard.ts';

export const ACCEPT_TEXT = {
  queue: 'Notification could not be queued; retry later',
  replay: 'Duplicate delivery; nothing queued',
  unverifiedLimit: 'Too many unsigned deletes; retry later',
} as const;

export interface AcceptDeps {
  /** WEBHOOK_SECRET: the bearer token and the HMAC key. */
  secret: string;
  /** Durably queues the jobs of one notification under its sender; resolves once they are stored. */
  enqueue: (jobs: JobIntent[], options?: { sender?: string }) => Promise<void>;
  tracker: EventNumberTracker;
  /** NOTIFICATION_MAX_PATIENTS: beyond it, one catch-up instead (default 100). */
  maxPatients?: number;
  /** Signed deliveries already queued. */
  replays: ReplayGuard;
  /** Where a replayed delivery is noted (rate-limited). */
  refusals: RefusalLog;
  /** The cap on unverified (pre-PR-6557 Medplum) deletes (legacy-medplum-delete.ts). */
  unverifiedDeletes: UnverifiedDeleteLimit;
}

/** What became of a notification: its shape (`unknown` when it never parsed) and the reply, or the error to answer. */
export type Acceptance =
  | { outcome: 'accepted' | 'duplicate'; shape: string; status: number; body: OperationOutcome | Bundle }
  | { outcome: 'rejected'; shape: string; error: unknown };

/**
 * Accepts one notification (see the module comment). Never throws: a refusal comes back as `rejected` with its error.
 * @param request - Method, path parameters, headers and the exact body bytes.
 * @param deps - Secret, queue, tracker, replay guard, refusal log.
 * @returns What became of it.
 */
export async function acceptNotification(request: NotificationRequest, deps: AcceptDeps): Promise<Acceptance> {
  let shape = 'unknown';
  let claimed: string | undefined;
  try {
    const method = authenticated(request, deps.secret);
    if (method === 'unverified-delete' && !deps.unverifiedDeletes.take())
      throw new OutcomeError(outcome('throttled', ACCEPT_TEXT.unverifiedLimit), 429);
    const parsed = await parseNotification(request, deps.tracker, { maxPatients: deps.maxPatients });
    shape = parsed.shape;
    if (method === 'signature' && parsed.jobs.length > 0 && parsed.shape !== 'hapi-empty') {
      const key = deliveryKey(request.rawBody, parsed.jobs);
      if (!deps.replays.claim(key)) {
        deps.refusals({ status: 200, code: 'informational' }, 'Signed notification replayed; nothing queued');
        return { outcome: 'duplicate', shape, status: 200, body: replyBody(shape, 200, allOk(ACCEPT_TEXT.replay)) };
      }
      claimed = key;
    }
    await queueAndRecord(parsed, deps, senderOf(request, parsed, method));
    logAccepted(parsed, method);
    const { status, body } = parsed.reply;
    return {
      outcome: parsed.duplicate ? 'duplicate' : 'accepted',
      shape,
      status,
      body: replyBody(shape, status, body),
    };
  } catch (error) {
    // Nothing of this delivery was queued (or its event numbers were not recorded): its retry must go through.
    if (claimed !== undefined) deps.replays.release(claimed);
    return { outcome: 'rejected', shape, error };
  }
}

/** The credential that passed, or `unverified-delete` for a pre-PR-6557 Medplum delete; throws 401 otherwise. */
function authenticated(request: NotificationRequest, secret: string): AuthMethod | 'unverified-delete' {
  try {
    return authenticateRequest(request.headers, request.rawBody, secret);
  } catch (err) {
    if (secret && legacyMedplumDelete(request)) return 'unverified-delete';
    throw err;
  }
}

/**
 * Who sent it, for fair ordering across senders: its Subscription (topic-based, or Medplum's X-Medplum-Subscription),
 * else the peer address; unverified deletes share one sender, so they never get ahead of authenticated work.
 */
function senderOf(request: NotificationRequest, parsed: ParsedNotification, method: string): string {
  if (method === 'unverified-delete') return 'unverified-delete';
  const medplum = request.headers['x-medplum-subscription'];
  const subscription = parsed.subscriptionId ?? (typeof medplum === 'string' ? medplum : undefined);
  return subscription === undefined ? `peer:${request.peer ?? 'unknown'}` : `subscription:${subscription}`;
}

/** Queues the jobs, then records the event numbers (only once the jobs are stored); either failing is a 503. */
async function queueAndRecord(parsed: ParsedNotification, deps: AcceptDeps, sender: string): Promise<void> {
  if (parsed.jobs.length > 0) {
    try {
      await deps.enqueue(parsed.jobs, { sender });
    } catch (err) {
      throw new OutcomeError(outcome('transient', ACCEPT_TEXT.queue), 503, { cause: err });
    }
  }
  try {
    await commitEventNumbers(parsed.eventNumbers, deps.tracker);
  } catch (err) {
    throw new OutcomeError(outcome('transient', ERROR_TEXT.tracker), 503, { cause: err });
  }
}

function logAccepted(parsed: ParsedNotification, method: string): void {
  logger.info(
    {
      shape: parsed.shape,
      unverified: method === 'unverified-delete' || undefined,
      subscriptionId: parsed.subscriptionId,
      notificationType: parsed.notificationType,
      duplicate: parsed.duplicate || undefined,
      jobs: parsed.jobs.length,
    },
    'Notification accepted',
  );
}
