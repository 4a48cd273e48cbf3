/**
 * The one place OperationOutcomes and the one error class are made (after medplum packages/core/src/outcomes.ts).
 * Throw only {@link OutcomeError} (@medplum/core's OperationOutcomeError with the HTTP status it stands for); keep
 * what caused it in `cause`. The edges (express error handler, CLI) turn any error into a status and a body with
 * `toOperationOutcome` (to-operation-outcome.ts).
 * Messages are static text; variable data goes into `expression` or `diagnostics`, never patient data.
 * https://hl7.org/fhir/R4/operationoutcome.html
 */
import { OperationOutcomeError } from '@medplum/core';
import type { OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';

export type IssueCode = OperationOutcomeIssue['code'];

/** HTTP status per outcome kind; one map so the CLI and the server agree. */
export const STATUS_BY_CODE: Partial<Record<IssueCode, number>> = {
  invalid: 400,
  structure: 400,
  required: 400,
  value: 400,
  'code-invalid': 400,
  security: 401,
  login: 401,
  forbidden: 403,
  'not-found': 404,
  conflict: 409,
  'too-costly': 413,
  'not-supported': 415,
  throttled: 429,
  exception: 500,
  transient: 503,
  timeout: 504,
};

/**
 * An OperationOutcome with one issue.
 * @param code - The issue code (it also gives the HTTP status, see STATUS_BY_CODE).
 * @param text - Static text for `details.text`.
 * @param options - Where (`expression`), what exactly (`diagnostics`, never patient data), and the severity.
 * @returns The OperationOutcome.
 */
export function outcome(
  code: IssueCode,
  text: string,
  options: { expression?: string[]; diagnostics?: string; severity?: OperationOutcomeIssue['severity'] } = {},
): OperationOutcome {
  const issue: OperationOutcomeIssue = { severity: options.severity ?? 'error', code, details: { text } };
  if (options.expression?.length) issue.expression = options.expression;
  if (options.diagnostics) issue.diagnostics = options.diagnostics;
  return { resourceType: 'OperationOutcome', issue: [issue] };
}

/** An informational OperationOutcome (a success answered with an outcome). */
export function allOk(text = 'All OK'): OperationOutcome {
  return {
    resourceType: 'OperationOutcome',
    issue: [{ severity: 'information', code: 'informational', details: { text } }],
  };
}

/** The HTTP status an outcome stands for when none is given: by its first issue's code, else 500. */
export function statusOfOutcome(oo: OperationOutcome): number {
  return STATUS_BY_CODE[oo.issue?.[0]?.code ?? 'exception'] ?? 500;
}

/**
 * The project's one error class: @medplum/core's OperationOutcomeError (so `instanceof OperationOutcomeError` holds
 * for it and for Medplum's own), carrying the HTTP status the outcome stands for and, in `cause`, what caused it.
 */
export class OutcomeError extends OperationOutcomeError {
  readonly status: number;

  constructor(oo: OperationOutcome, status?: number, options?: { cause?: unknown }) {
    super(oo, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'OutcomeError';
    // The static text alone (Medplum's message adds diagnostics, which may name internals).
    this.message = oo.issue?.[0]?.details?.text ?? 'Error';
    this.status = status ?? statusOfOutcome(oo);
  }
}

export const badRequest = (text: string, expression?: string[], cause?: unknown): OutcomeError =>
  new OutcomeError(outcome('invalid', text, { expression }), 400, { cause });
export const unauthorized = (text = 'Unauthenticated'): OutcomeError => new OutcomeError(outcome('security', text));
export const tooLarge = (text = 'Payload too large', cause?: unknown): OutcomeError =>
  new OutcomeError(outcome('too-costly', text), 413, { cause });
export const unsupportedMediaType = (text = 'Unsupported media type', cause?: unknown): OutcomeError =>
  new OutcomeError(outcome('not-supported', text), 415, { cause });
/** A static 500: what the edges answer for an error of unknown kind (a bug), never its message. */
export const internalError = (cause?: unknown): OutcomeError =>
  new OutcomeError(outcome('exception', 'Internal error'), 500, { cause });

/** Turns zod issues into one OperationOutcome, each issue with the dot path of what was wrong (zod's toDotPath). */
export function zodIssuesToOutcome(
  issues: readonly { path: readonly PropertyKey[]; message: string }[],
  text = 'Invalid input',
): OperationOutcome {
  return {
    resourceType: 'OperationOutcome',
    issue: issues.map((i) => ({
      severity: 'error',
      code: 'invalid',
      details: { text },
      diagnostics: i.message,
      expression: [i.path.length ? i.path.map(String).join('.') : '(root)'],
    })),
  };
}
