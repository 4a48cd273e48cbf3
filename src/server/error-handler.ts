/**
 * The one express error edge (architecture.md): every router and the app answer errors through
 * `createErrorHandler`, which turns anything thrown into a status and a FHIR OperationOutcome with
 * `toOperationOutcome`, logs a 5xx with its stack (never its message: describeError), and never sends a stack or
 * express's HTML page. `sendOutcome` is how every FHIR JSON OperationOutcome is written.
 */
import type { OperationOutcome } from '@medplum/fhirtypes';
import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import { outcome } from '../fhir-model/outcomes.ts';
import { type BodyErrorTexts, type ErrorReply, toOperationOutcome } from '../fhir-model/to-operation-outcome.ts';
import { describeError, type Logger, logger as rootLogger } from '../logging.ts';

export const FHIR_JSON = 'application/fhir+json; charset=utf-8';

/**
 * Writes an OperationOutcome (or any FHIR resource) as FHIR JSON, unless a response is already under way.
 * A 401 carries `WWW-Authenticate: Bearer` (RFC 6750).
 * @param res - The response.
 * @param status - The HTTP status.
 * @param body - What to send.
 */
export function sendOutcome(res: Response, status: number, body: OperationOutcome): void {
  if (res.headersSent) return;
  if (status === 401) res.setHeader('WWW-Authenticate', 'Bearer');
  res.status(status).setHeader('Content-Type', FHIR_JSON).send(JSON.stringify(body));
}

export interface ErrorHandlerOptions {
  /** Static texts for request-body errors (413, 415, other 4xx). */
  texts?: BodyErrorTexts;
  /** Where a 5xx is logged (default the root logger). */
  logger?: Logger;
  /** Message of the 5xx log line. */
  message?: string;
  /** Told of every error reply before it is sent (e.g. intake's refusal log and metrics). */
  onReply?: (reply: ErrorReply, err: unknown) => void;
}

/**
 * Logs an error reply when it is a 5xx: method, path and the error's stack, never its message.
 * @param log - The logger.
 * @param reply - The reply toOperationOutcome gave.
 * @param err - What was thrown.
 * @param fields - Where it happened (method, path: never a query string or a body).
 * @param message - Static message.
 */
export function logServerError(
  log: Logger,
  reply: ErrorReply,
  err: unknown,
  fields: Record<string, unknown>,
  message = 'request failed',
): void {
  if (reply.status >= 500) log.error({ ...fields, err: describeError(err) }, message);
}

/**
 * The express error handler: the status and OperationOutcome of `toOperationOutcome`, a 5xx logged with its stack.
 * @param options - Texts, logger, a hook on every reply.
 * @returns The handler (mount it last).
 */
export function createErrorHandler(options: ErrorHandlerOptions = {}): ErrorRequestHandler {
  const log = options.logger ?? rootLogger;
  return (err, req, res, _next) => {
    const reply = toOperationOutcome(err, options.texts);
    logServerError(log, reply, err, { method: req.method, path: req.path }, options.message);
    options.onReply?.(reply, err);
    sendOutcome(res, reply.status, reply.outcome);
  };
}

/** The app's error handler (default texts). */
export const errorHandler: ErrorRequestHandler = createErrorHandler();

export const notFoundHandler: RequestHandler = (_req, res) => {
  sendOutcome(res, 404, outcome('not-found', 'Not found'));
};
