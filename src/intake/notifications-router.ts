/**
 * The rest-hook endpoint (contract section 4): POST /notifications, PUT and DELETE /notifications/:type/:id, a thin
 * express adapter over acceptNotification (accept-notification.ts).
 *
 * Order per request: no credential that could pass -> 401 before the body is read; a Content-Encoding -> 415 before
 * the body is read (servers do not compress deliveries, and inflating before the HMAC check let an unauthenticated
 * client make the process hold up to 10 MiB per 27-byte request); read the raw body (limit -> 413) -> acceptNotification (authenticate over those exact bytes, parse, replay guard, enqueue, event numbers) -> reply.
 * Every reply, error or not, is a FHIR OperationOutcome (HAPI parses it); nothing is queued for bad input.
 * Refusals are logged by refusal-log.ts (status and code only, at most one warn line per kind per window).
 */
import type { Bundle, OperationOutcome } from '@medplum/fhirtypes';
import express, { type Request, type RequestHandler, type Response } from 'express';
import { OutcomeError, outcome, tooLarge, unauthorized, unsupportedMediaType } from '../fhir-model/outcomes.ts';
import type { BodyErrorTexts } from '../fhir-model/to-operation-outcome.ts';
import { logger } from '../logging.ts';
import { createErrorHandler, FHIR_JSON, sendOutcome } from '../server/error-handler.ts';
import { ACCEPT_TEXT, acceptNotification } from './accept-notification.ts';
import { mayAuthenticate, UNAUTHENTICATED_TEXT } from './authenticate.ts';
import type { EventNumberTracker } from './event-number-tracker.ts';
import type { JobIntent } from './jobs.ts';
import { createUnverifiedDeleteLimit } from './legacy-medplum-delete.ts';
import { ERROR_TEXT } from './parse-notification.ts';
import { createRefusalLog } from './refusal-log.ts';
import { createReplayGuard, type ReplayGuard } from './replay-guard.ts';

export const DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024;

export interface NotificationsRouterDeps {
  /** WEBHOOK_SECRET: the bearer token and the HMAC key. */
  secret: string;
  /** Durably queues the jobs of one notification under its sender; resolves once they are stored. */
  enqueue: (jobs: JobIntent[], options?: { sender?: string }) => Promise<void>;
  tracker: EventNumberTracker;
  /** NOTIFICATION_MAX_PATIENTS: patients one notification may name; beyond it one catch-up (default 100). */
  maxPatients?: number;
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
  encoding: 'Unsupported content encoding: send the notification uncompressed (no Content-Encoding)',
  queue: ACCEPT_TEXT.queue,
  internal: 'Internal error',
  replay: ACCEPT_TEXT.replay,
} as const;

/** Texts for errors while reading the body, and for anything that escapes the routes. */
const READ_TEXTS: BodyErrorTexts = {
  tooLarge: ROUTER_TEXT.tooLarge,
  encoding: ROUTER_TEXT.encoding,
  malformed: ROUTER_TEXT.unreadable,
};
const ESCAPED_TEXTS: BodyErrorTexts = { ...READ_TEXTS, malformed: ROUTER_TEXT.malformed };

/** An accepting reply: the OperationOutcome, or the Bundle a topic-based or transaction delivery's sender parses. */
function sendReply(res: Response, status: number, body: OperationOutcome | Bundle): void {
  if (body.resourceType === 'OperationOutcome') sendOutcome(res, status, body);
  else res.status(status).setHeader('Content-Type', FHIR_JSON).send(JSON.stringify(body));
}

/** Any Content-Encoding but `identity` (gzip, deflate, br, zstd, several, or unknown). */
function isEncoded(header: string | string[] | undefined): boolean {
  const value = Array.isArray(header) ? header.join(',') : (header ?? '');
  return value
    .split(',')
    .map((v) => v.trim().toLowerCase())
    .some((v) => v !== '' && v !== 'identity');
}

/** Creates the router; mount it at the app root (it serves /notifications...). */
export function createNotificationsRouter(deps: NotificationsRouterDeps): express.Router {
  const router = express.Router();
  const maxBodyBytes = deps.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  // inflate: false as well: a compressed body is never inflated, whatever gets past the check below.
  const raw = express.raw({ type: () => true, limit: maxBodyBytes, inflate: false });
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
  const accept = {
    secret: deps.secret,
    enqueue: deps.enqueue,
    tracker: deps.tracker,
    maxPatients: deps.maxPatients,
    replays: deps.replayGuard ?? createReplayGuard(),
    unverifiedDeletes: createUnverifiedDeleteLimit(),
    refusals,
  };

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
    if (isEncoded(req.headers['content-encoding']))
      return refuseEarly(req, res, unsupportedMediaType(ROUTER_TEXT.encoding));
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

  /** The thin adapter: the exact bytes in, acceptNotification, its reply (or the error edge) out. */
  const handle = async (req: Request, res: Response): Promise<void> => {
    if (req.body !== undefined && !Buffer.isBuffer(req.body)) {
      // Another body parser ran first: the exact bytes (and so the HMAC) are gone. A wiring bug, not bad input.
      logger.error('Notifications router must be mounted before any body parser');
      deps.onOutcome?.('unknown', 'rejected');
      return sendError(req, res, new OutcomeError(outcome('exception', ROUTER_TEXT.internal), 500));
    }
    const rawBody: Buffer = req.body ?? Buffer.alloc(0);
    const params = req.params as { type?: string; id?: string };
    const request = {
      method: req.method,
      params,
      headers: req.headers,
      rawBody,
      contentType: req.headers['content-type'],
      peer: req.socket.remoteAddress,
    };
    const result = await acceptNotification(request, accept);
    deps.onOutcome?.(result.shape, result.outcome);
    if (result.outcome === 'rejected') sendError(req, res, result.error);
    else sendReply(res, result.status, result.body);
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
