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
import type { OperationOutcome } from '@medplum/fhirtypes';
import express, { type ErrorRequestHandler, type Request, type RequestHandler, type Response } from 'express';
import {
  allOk,
  badRequest,
  OperationOutcomeError,
  outcome,
  toOperationOutcomeError,
  tooLarge,
  unauthorized,
  unsupportedMediaType,
} from '../fhir/outcomes.ts';
import { logger } from '../logging.ts';
import { authenticateRequest, mayAuthenticate, UNAUTHENTICATED_TEXT } from './authenticate.ts';
import { commitEventNumbers, type EventNumberTracker } from './event-number-tracker.ts';
import type { JobIntent } from './jobs.ts';
import { ERROR_TEXT, parseNotification } from './parse-notification.ts';
import { createRefusalLog, type RefusalLog } from './refusal-log.ts';
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

const FHIR_JSON = 'application/fhir+json; charset=utf-8';

function send(res: Response, status: number, body: OperationOutcome): void {
  if (res.headersSent) return;
  if (status === 401) res.setHeader('WWW-Authenticate', 'Bearer');
  res.status(status).setHeader('Content-Type', FHIR_JSON).send(JSON.stringify(body));
}

function sendError(res: Response, err: unknown, refusals: RefusalLog): void {
  const e = toOperationOutcomeError(err);
  refusals({ status: e.status, code: e.outcome.issue?.[0]?.code }, 'Notification rejected');
  send(res, e.status, e.outcome);
}

/** Maps body-parser (raw-body) errors to OperationOutcomes without leaking their messages or stacks. */
function bodyReadError(err: unknown): OperationOutcomeError {
  const e = err as { type?: unknown; status?: unknown } | null;
  const type = typeof e?.type === 'string' ? e.type : undefined;
  const status = typeof e?.status === 'number' ? e.status : undefined;
  if (type === 'entity.too.large' || status === 413) return tooLarge(ROUTER_TEXT.tooLarge);
  if (type === 'encoding.unsupported' || status === 415) return unsupportedMediaType(ROUTER_TEXT.encoding);
  if (status !== undefined && status >= 400 && status < 500) return badRequest(ROUTER_TEXT.unreadable);
  return toOperationOutcomeError(err);
}

/**
 * Error handler for anything that escapes the routes (e.g. a malformed percent-encoding in the path): an
 * OperationOutcome with the right status, never express's default HTML page or a stack. Mounted inside the router;
 * exported so the app can reuse it.
 */
export function createNotificationErrorHandler(refusals: RefusalLog): ErrorRequestHandler {
  return (err, _req, res, _next) => {
    if (err instanceof OperationOutcomeError) return sendError(res, err, refusals);
    const status = (err as { status?: unknown } | null)?.status;
    if (status === 413 || status === 415) return sendError(res, bodyReadError(err), refusals);
    if (typeof status === 'number' && status >= 400 && status < 500)
      return sendError(res, badRequest(ROUTER_TEXT.malformed), refusals);
    sendError(res, err, refusals);
  };
}

export const notificationErrorHandler: ErrorRequestHandler = createNotificationErrorHandler(createRefusalLog(logger));

/** Creates the router; mount it at the app root (it serves /notifications...). */
export function createNotificationsRouter(deps: NotificationsRouterDeps): express.Router {
  const router = express.Router();
  const maxBodyBytes = deps.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const raw = express.raw({ type: () => true, limit: maxBodyBytes });
  const refusals = createRefusalLog(logger);
  const replays = deps.replayGuard ?? createReplayGuard();

  /**
   * Refuses before the body is read (or part way through it) and closes the connection after the answer, so the
   * rest is never read: body-parser would otherwise drain a refused body to its end before answering, and a client
   * could keep one connection streaming until the request deadline.
   */
  const refuseEarly = (res: Response, err: OperationOutcomeError): void => {
    if (res.headersSent) return;
    deps.onOutcome?.('unknown', 'rejected');
    res.setHeader('Connection', 'close');
    sendError(res, err, refusals);
  };

  const readBody: RequestHandler = (req, res, next) => {
    // No credential that could pass: the body is never read.
    if (!mayAuthenticate(req.headers, deps.secret)) return refuseEarly(res, unauthorized(UNAUTHENTICATED_TEXT));
    if (Number(req.headers['content-length']) > maxBodyBytes) return refuseEarly(res, tooLarge(ROUTER_TEXT.tooLarge));
    // A chunked (or compressed) body is counted as it arrives; past the limit it is refused at once.
    let received = 0;
    const countBytes = (chunk: Buffer): void => {
      received += chunk.length;
      if (received <= maxBodyBytes) return;
      req.off('data', countBytes);
      refuseEarly(res, tooLarge(ROUTER_TEXT.tooLarge));
    };
    raw(req, res, (err?: unknown) => {
      req.off('data', countBytes);
      if (res.headersSent) return; // refused while reading
      if (!err) return next();
      deps.onOutcome?.('unknown', 'rejected');
      sendError(res, bodyReadError(err), refusals);
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
        throw new OperationOutcomeError(outcome('exception', ROUTER_TEXT.internal), 500);
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
          return send(res, 200, allOk(ROUTER_TEXT.replay));
        }
        claimed = key;
      }
      if (parsed.jobs.length > 0) {
        try {
          await deps.enqueue(parsed.jobs);
        } catch {
          throw new OperationOutcomeError(outcome('transient', ROUTER_TEXT.queue), 503);
        }
      }
      try {
        await commitEventNumbers(parsed.eventNumbers, deps.tracker);
      } catch {
        throw new OperationOutcomeError(outcome('transient', ERROR_TEXT.tracker), 503);
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
      send(res, parsed.reply.status, parsed.reply.body);
    } catch (err) {
      // Nothing of this delivery was queued (or its event numbers were not recorded): its retry must go through.
      if (claimed !== undefined) replays.release(claimed);
      deps.onOutcome?.(shape, 'rejected');
      sendError(res, err, refusals);
    }
  };

  const methodNotAllowed: RequestHandler = (_req, res) => {
    res.setHeader('Allow', 'POST');
    send(res, 405, outcome('not-supported', ERROR_TEXT.method));
  };
  const itemNotAllowed: RequestHandler = (_req, res) => {
    res.setHeader('Allow', 'PUT, DELETE');
    send(res, 405, outcome('not-supported', ERROR_TEXT.method));
  };

  router.post('/notifications', readBody, handle);
  router.all('/notifications', methodNotAllowed);
  router.put('/notifications/:type/:id', readBody, handle);
  router.delete('/notifications/:type/:id', readBody, handle);
  router.all('/notifications/:type/:id', itemNotAllowed);
  router.use('/notifications', createNotificationErrorHandler(refusals));
  return router;
}
