/**
 * One notification, from its exact bytes to the reply, with no HTTP in sight (notifications-router.ts adapts it to
 * express): authenticate over the raw bytes (401) -> parse (400/415) -> a signed delivery already queued within the
 * replay window: 200, nothing queued (replay-guard.ts) -> enqueue the jobs (a quick durable insert; failure -> 503
 * so the server retries) -> record event numbers -> the reply. Nothing is queued for bad input, and a delivery that
 * failed part way is not remembered as a replay, so its retry goes through.
 */
import type { OperationOutcome } from '@medplum/fhirtypes';
import { allOk, OutcomeError, outcome } from '../fhir-model/outcomes.ts';
import { logger } from '../logging.ts';
import { authenticateRequest } from './authenticate.ts';
import { commitEventNumbers, type EventNumberTracker } from './event-number-tracker.ts';
import type { JobIntent } from './jobs.ts';
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
} as const;

export interface AcceptDeps {
  /** WEBHOOK_SECRET: the bearer token and the HMAC key. */
  secret: string;
  /** Durably queues the jobs of one notification; resolves once they are stored. */
  enqueue: (jobs: JobIntent[]) => Promise<void>;
  tracker: EventNumberTracker;
  /** Signed deliveries already queued. */
  replays: ReplayGuard;
  /** Where a replayed delivery is noted (rate-limited). */
  refusals: RefusalLog;
}

/** What became of a notification: its shape (`unknown` when it never parsed) and the reply, or the error to answer. */
export type Acceptance =
  | { outcome: 'accepted' | 'duplicate'; shape: string; status: number; body: OperationOutcome }
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
    const method = authenticateRequest(request.headers, request.rawBody, deps.secret);
    const parsed = await parseNotification(request, deps.tracker);
    shape = parsed.shape;
    if (method === 'signature' && parsed.jobs.length > 0 && parsed.shape !== 'hapi-empty') {
      const key = deliveryKey(request.rawBody, parsed.jobs);
      if (!deps.replays.claim(key)) {
        deps.refusals({ status: 200, code: 'informational' }, 'Signed notification replayed; nothing queued');
        return { outcome: 'duplicate', shape, status: 200, body: allOk(ACCEPT_TEXT.replay) };
      }
      claimed = key;
    }
    await queueAndRecord(parsed, deps);
    logAccepted(parsed);
    return { outcome: parsed.duplicate ? 'duplicate' : 'accepted', shape, ...parsed.reply };
  } catch (error) {
    // Nothing of this delivery was queued (or its event numbers were not recorded): its retry must go through.
    if (claimed !== undefined) deps.replays.release(claimed);
    return { outcome: 'rejected', shape, error };
  }
}

/** Queues the jobs, then records the event numbers (only once the jobs are stored); either failing is a 503. */
async function queueAndRecord(parsed: ParsedNotification, deps: AcceptDeps): Promise<void> {
  if (parsed.jobs.length > 0) {
    try {
      await deps.enqueue(parsed.jobs);
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

function logAccepted(parsed: ParsedNotification): void {
  logger.info(
    {
      shape: parsed.shape,
      subscriptionId: parsed.subscriptionId,
      notificationType: parsed.notificationType,
      duplicate: parsed.duplicate || undefined,
      jobs: parsed.jobs.length,
    },
    'Notification accepted',
  );
}
