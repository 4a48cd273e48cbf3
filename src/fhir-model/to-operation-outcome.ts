/**
 * The one error edge: anything thrown -> the HTTP status and the OperationOutcome to answer with. Every express error
 * handler (server, intake, sandbox) and every CLI command goes through `toOperationOutcome`.
 * - OutcomeError (the project's class): its status and outcome.
 * - ZodError: 400, one issue per problem with the dot path in `expression`.
 * - a request-body error (body-parser / http-errors, `status` 4xx): 413, 415 or 400 with the edge's static text.
 * - anything else, Medplum's own OutcomeError included: a static 500. Its message, stack and diagnostics
 *   are never sent (they may carry internals or patient data, medplum issue 8814); the edge logs the stack.
 */
import type { OperationOutcome } from '@medplum/fhirtypes';
import { ZodError } from 'zod';
import {
  badRequest,
  internalError,
  OutcomeError,
  tooLarge,
  unsupportedMediaType,
  zodIssuesToOutcome,
} from './outcomes.ts';

export interface ErrorReply {
  status: number;
  outcome: OperationOutcome;
}

/** Static texts an edge answers request-body errors with (the defaults suit any edge). */
export interface BodyErrorTexts {
  /** 413: the body is larger than the edge accepts. */
  tooLarge?: string;
  /** 415: a content encoding or charset the edge cannot read. */
  encoding?: string;
  /** Any other 4xx from reading the request (malformed JSON, aborted body, bad percent-encoding in the path). */
  malformed?: string;
}

/**
 * Turns anything thrown into the reply to send.
 * @param err - Anything thrown.
 * @param texts - The edge's static texts for request-body errors.
 * @returns The HTTP status and the OperationOutcome.
 */
export function toOperationOutcome(err: unknown, texts: BodyErrorTexts = {}): ErrorReply {
  const e = toOutcomeError(err, texts);
  return { status: e.status, outcome: e.outcome };
}

/**
 * The same as {@link toOperationOutcome}, as an OutcomeError (with `cause` = err when err was not one already).
 * @param err - Anything thrown.
 * @param texts - The edge's static texts for request-body errors.
 * @returns The error.
 */
export function toOutcomeError(err: unknown, texts: BodyErrorTexts = {}): OutcomeError {
  if (err instanceof OutcomeError) return err;
  if (err instanceof ZodError) return new OutcomeError(zodIssuesToOutcome(err.issues), 400, { cause: err });
  const status = requestErrorStatus(err);
  if (status === 413) return tooLarge(texts.tooLarge, err);
  if (status === 415) return unsupportedMediaType(texts.encoding, err);
  if (status !== undefined) return badRequest(texts.malformed ?? 'Malformed request', undefined, err);
  return internalError(err);
}

/** The 4xx status of an error raised while reading a request (http-errors sets `status`); else undefined. */
function requestErrorStatus(err: unknown): number | undefined {
  const status = (err as { status?: unknown } | null)?.status;
  return typeof status === 'number' && status >= 400 && status < 500 ? status : undefined;
}
