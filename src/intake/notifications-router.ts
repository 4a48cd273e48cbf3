/**
 * The rest-hook endpoint (contract section 4): POST /notifications, PUT and DELETE /notifications/:type/:id.
 *
 * Order per request: no credential that could pass -> 401 before the body is read; read the raw body (limit -> 413)
 * -> authenticate over those exact bytes (401) -> parse (400/415) -> a signed delivery already queued within the
 * replay window -> 200, nothing queued (replay-guard.ts) -> enqueue the jobs (a quick durable insert; failure -> 503
 * so the server retries) -> record event numbers -> reply.
 * Every reply, error or not, is a FHIR OperationOutcome (HAPI parses it); nothing is queued for bad input.
 * Refusals are logged by refusal-log.ts (status and code only, at most one warn line per kind per window).
 */
import express, { type Request, type RequestHandler, type Response } from 'express';
import { allOk, OutcomeError, outcome, tooLarge, unauthorized } from '../fhir-model/outcomes.ts';
import type { BodyErrorTexts } from '../fhir-model/to-operation-outcome.ts';
import { logger } from '../logging.ts';
import { createErrorHandler, sendOutcome } from '../server/error-handler.ts';
import { authenticateRequest, mayAuthenticate, UNAUTHENTICATED_TEXT } from './authenticate.ts';
import { commitEventNumbers, type EventNumberTracker } from './event-number-tracker.ts';
import type { JobIntent } from './jobs.ts';
import { ERROR_TEXT, parseNotification } from './parse-notification.ts';
import { createRefusalLog } from './refusal-log.ts';
import { createReplayGuard, deliveryKey, type ReplayGuard } from './replay-guard.ts';

export const DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024;

export interface NotificationsRouterDeps {
  /** WEBHOOK_SECRET: the bearer token and the HMAC key. */
  secret: string;
  /** Durably queues the jobs of one notification; resolves once they are stored. */
  enqueue: (jobs: JobIntent[]) => Promise<void>;
  tracker: EventNumberTracker;
  /** Largest accepted body in bytes (default 10 MiB). */
  maxBodyBytes?: number;
  /** Told of every notification's shape and outcome (for metrics); `unknown` shape when it never parsed. */
  onOutcome?: (shape: string, outcome: 'accepted' | 'duplicate' | 'rejected') => void;
  /** Signed deliveries already queued (default: 10,000 keys for 10 minutes, see replay-guard.ts). */
  replayGuard?: ReplayGuard;
}

export const ROUTER_TEXT = {
  tooLarge: 'Notification body too large',
  unreadable: 'Notification body could not be read',
  malformed: 'Malformed request',
  encoding: 'Unsupported content encoding',
  queue: 'Notification could not be queued; retry later',
  internal: 'Internal error',
  replay: 'Duplicate delivery; nothing queued',
} as const;

/** Texts for errors while reading the body, and for anything that escapes the routes. */
const READ_TEXTS: BodyErrorTexts = {
  tooLarge: ROUTER_TEXT.tooLarge,
  encoding: ROUTER_TEXT.encoding,
  malformed: ROUTER_TEXT.unreadable,
};
const ESCAPED_TEXTS: BodyErrorTexts = { ...READ_TEXTS, malformed: ROUTER_TEXT.malformed };

/** Creates the router; mount it at the app root (it serves /notifications...). */
export function createNotificationsRouter(deps: NotificationsRouterDeps): express.Router {
  const router = express.Router();
  const maxBodyBytes = deps.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const raw = express.raw({ type: () => true, limit: maxBodyBytes });
  const refusals = createRefusalLog(logger);
  const errorEdge = (texts: BodyErrorTexts) =>
    createErrorHandler({
      texts,
      message: 'Notification failed',
      onReply: (reply) =>
        refusals({ status: reply.status, code: reply.outcome.issue?.[0]?.code }, 'Notification rejected'),
    });
  const readErrors = errorEdge(READ_TEXTS);
  const sendError = (req: Request, res: Response, err: unknown): void => {
    readErrors(err, req, res, () => undefined);
  };
  const replays = deps.replayGuard ?? createReplayGuard();

  /**
   * Refuses before the body is read (or part way through it) and closes the connection after the answer, so the
   * rest is never read: body-parser would otherwise drain a refused body to its end before answering, and a client
   * could keep one connection streaming until the request deadline.
   */
  const refuseEarly = (req: Request, res: Response, err: OutcomeError): void => {
    if (res.headersSent) return;
    deps.onOutcome?.('unknown', 'rejected');
    res.setHeader('Connection', 'close');
    sendError(req, res, err);
  };

  const readBody: RequestHandler = (req, res, next) => {
    // No credential that could pass: the body is never read.
    if (!mayAuthenticate(req.headers, deps.secret)) return refuseEarly(req, res, unauthorized(UNAUTHENTICATED_TEXT));
    if (Number(req.headers['content-length']) > maxBodyBytes)
      return refuseEarly(req, res, tooLarge(ROUTER_TEXT.tooLarge));
    // A chunked (or compressed) body is counted as it arrives; past the limit it is refused at once.
    let received = 0;
    const countBytes = (chunk: Buffer): void => {
      received += chunk.length;
      if (received <= maxBodyBytes) return;
      req.off('data', countBytes);
      refuseEarly(req, res, tooLarge(ROUTER_TEXT.tooLarge));
    };
    raw(req, res, (err?: unknown) => {
      req.off('data', countBytes);
      if (res.headersSent) return; // refused while reading
      if (!err) return next();
      deps.onOutcome?.('unknown', 'rejected');
      sendError(req, res, err);
    });
    if (!req.readableEnded) req.on('data', countBytes);
  };

  const handle = async (req: Request, res: Response): Promise<void> => {
    let shape = 'unknown';
    let claimed: string | undefined;
    try {
      if (req.body !== undefined && !Buffer.isBuffer(req.body)) {
        // Another body parser ran first: the exact bytes (and so the HMAC) are gone. A wiring bug, not bad input.
        logger.error('Notifications router must be mounted before any body parser');
        throw new OutcomeError(outcome('exception', ROUTER_TEXT.internal), 500);
      }
      const rawBody = req.body ?? Buffer.alloc(0);
      const method = authenticateRequest(req.headers, rawBody, deps.secret);
      const params = req.params as { type?: string; id?: string };
      const parsed = await parseNotification(
        { method: req.method, params, headers: req.headers, rawBody, contentType: req.headers['content-type'] },
        deps.tracker,
      );
      shape = parsed.shape;
      if (method === 'signature' && parsed.jobs.length > 0 && parsed.shape !== 'hapi-empty') {
        const key = deliveryKey(rawBody, parsed.jobs);
        if (!replays.claim(key)) {
          refusals({ status: 200, code: 'informational' }, 'Signed notification replayed; nothing queued');
          deps.onOutcome?.(shape, 'duplicate');
          return sendOutcome(res, 200, allOk(ROUTER_TEXT.replay));
        }
        claimed = key;
      }
      if (parsed.jobs.length > 0) {
        try {
          await deps.enqueue(parsed.jobs);
        } catch (err) {
          throw new OutcomeError(outcome('transient', ROUTER_TEXT.queue), 503, { cause: err });
        }
      }
      try {
        await commitEventNumbers(parsed.eventNumbers, deps.tracker);
      } catch (err) {
        throw new OutcomeError(outcome('transient', ERROR_TEXT.tracker), 503, { cause: err });
      }
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
      deps.onOutcome?.(shape, parsed.duplicate ? 'duplicate' : 'accepted');
      sendOutcome(res, parsed.reply.status, parsed.reply.body);
    } catch (err) {
      // Nothing of this delivery was queued (or its event numbers were not recorded): its retry must go through.
      if (claimed !== undefined) replays.release(claimed);
      deps.onOutcome?.(shape, 'rejected');
      sendError(req, res, err);
    }
  };

  const methodNotAllowed: RequestHandler = (_req, res) => {
    res.setHeader('Allow', 'POST');
    sendOutcome(res, 405, outcome('not-supported', ERROR_TEXT.method));
  };
  const itemNotAllowed: RequestHandler = (_req, res) => {
    res.setHeader('Allow', 'PUT, DELETE');
    sendOutcome(res, 405, outcome('not-supported', ERROR_TEXT.method));
  };

  router.post('/notifications', readBody, handle);
  router.all('/notifications', methodNotAllowed);
  router.put('/notifications/:type/:id', readBody, handle);
  router.delete('/notifications/:type/:id', readBody, handle);
  router.all('/notifications/:type/:id', itemNotAllowed);
  // Anything that escapes the routes (e.g. a malformed percent-encoding in the path).
  router.use('/notifications', errorEdge(ESCAPED_TEXTS));
  return router;
}
