/**
 * The rest-hook endpoint (contract section 4): POST /notifications, PUT and DELETE /notifications/:type/:id.
 *
 * Order per request: read the raw body (limit -> 413) -> authenticate over those exact bytes (401) -> parse (400/415)
 * -> enqueue the jobs (a quick durable insert; failure -> 503 so the server retries) -> record event numbers -> reply.
 * Every reply, error or not, is a FHIR OperationOutcome (HAPI parses it); nothing is queued for bad input.
 */
import type { OperationOutcome } from '@medplum/fhirtypes';
import express, { type ErrorRequestHandler, type Request, type RequestHandler, type Response } from 'express';
import {
  badRequest,
  OperationOutcomeError,
  outcome,
  toOperationOutcomeError,
  tooLarge,
  unsupportedMediaType,
} from '../fhir/outcomes.ts';
import { logger } from '../logging.ts';
import { authenticate } from './authenticate.ts';
import { commitEventNumbers, type EventNumberTracker } from './event-number-tracker.ts';
import type { JobIntent } from './jobs.ts';
import { ERROR_TEXT, parseNotification } from './parse-notification.ts';

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
}

export const ROUTER_TEXT = {
  tooLarge: 'Notification body too large',
  unreadable: 'Notification body could not be read',
  malformed: 'Malformed request',
  encoding: 'Unsupported content encoding',
  queue: 'Notification could not be queued; retry later',
  internal: 'Internal error',
} as const;

const FHIR_JSON = 'application/fhir+json; charset=utf-8';

function send(res: Response, status: number, body: OperationOutcome): void {
  if (res.headersSent) return;
  if (status === 401) res.setHeader('WWW-Authenticate', 'Bearer');
  res.status(status).setHeader('Content-Type', FHIR_JSON).send(JSON.stringify(body));
}

function sendError(res: Response, err: unknown): void {
  const e = toOperationOutcomeError(err);
  logger.warn({ status: e.status, code: e.outcome.issue?.[0]?.code }, 'Notification rejected');
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
export const notificationErrorHandler: ErrorRequestHandler = (err, _req, res, _next) => {
  if (err instanceof OperationOutcomeError) return sendError(res, err);
  const status = (err as { status?: unknown } | null)?.status;
  if (status === 413 || status === 415) return sendError(res, bodyReadError(err));
  if (typeof status === 'number' && status >= 400 && status < 500)
    return sendError(res, badRequest(ROUTER_TEXT.malformed));
  sendError(res, err);
};

/** Creates the router; mount it at the app root (it serves /notifications...). */
export function createNotificationsRouter(deps: NotificationsRouterDeps): express.Router {
  const router = express.Router();
  const raw = express.raw({ type: () => true, limit: deps.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES });

  const readBody: RequestHandler = (req, res, next) => {
    raw(req, res, (err?: unknown) => {
      if (!err) return next();
      deps.onOutcome?.('unknown', 'rejected');
      sendError(res, bodyReadError(err));
    });
  };

  const handle = async (req: Request, res: Response): Promise<void> => {
    let shape = 'unknown';
    try {
      if (req.body !== undefined && !Buffer.isBuffer(req.body)) {
        // Another body parser ran first: the exact bytes (and so the HMAC) are gone. A wiring bug, not bad input.
        logger.error('Notifications router must be mounted before any body parser');
        throw new OperationOutcomeError(outcome('exception', ROUTER_TEXT.internal), 500);
      }
      const rawBody = req.body ?? Buffer.alloc(0);
      authenticate(req.headers, rawBody, deps.secret);
      const params = req.params as { type?: string; id?: string };
      const parsed = await parseNotification(
        { method: req.method, params, headers: req.headers, rawBody, contentType: req.headers['content-type'] },
        deps.tracker,
      );
      shape = parsed.shape;
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
      deps.onOutcome?.(shape, 'rejected');
      sendError(res, err);
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
  router.use('/notifications', notificationErrorHandler);
  return router;
}
