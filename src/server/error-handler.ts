/**
 * The one express error handler (architecture.md): OperationOutcomeError -> its status and body; ZodError ->
 * 400 with the dot path of each issue; body-parser errors -> 400/413/415; anything else -> a static 500.
 * Never a stack, never express's HTML page.
 */
import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import { ZodError } from 'zod';
import {
  badRequest,
  OperationOutcomeError,
  outcome,
  toOperationOutcomeError,
  tooLarge,
  unsupportedMediaType,
  zodIssuesToOutcome,
} from '../fhir/outcomes.ts';
import { logger } from '../logging.ts';

const FHIR_JSON = 'application/fhir+json; charset=utf-8';

export function sendOutcome(res: Response, err: OperationOutcomeError): void {
  if (res.headersSent) return;
  res.status(err.status).setHeader('Content-Type', FHIR_JSON).send(JSON.stringify(err.outcome));
}

export const errorHandler: ErrorRequestHandler = (err, req, res, _next) => {
  let e: OperationOutcomeError;
  if (err instanceof OperationOutcomeError) e = err;
  else if (err instanceof ZodError) e = new OperationOutcomeError(zodIssuesToOutcome(err.issues), 400);
  else {
    const status = (err as { status?: unknown } | null)?.status;
    if (status === 413) e = tooLarge();
    else if (status === 415) e = unsupportedMediaType();
    else if (typeof status === 'number' && status >= 400 && status < 500) e = badRequest('Malformed request');
    else e = toOperationOutcomeError(err);
  }
  if (e.status >= 500)
    logger.error({ path: req.path, method: req.method, err: (err as Error)?.name }, 'request failed');
  sendOutcome(res, e);
};

export const notFoundHandler: RequestHandler = (_req, res) => {
  sendOutcome(res, new OperationOutcomeError(outcome('not-found', 'Not found'), 404));
};
