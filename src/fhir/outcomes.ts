/**
 * The one place OperationOutcomes are made (after medplum packages/core/src/outcomes.ts).
 * Throw only OperationOutcomeError; the edges (HTTP error handler, CLI) turn it into a status and a body.
 * Messages are static text; variable data goes into `expression` or `diagnostics`, never patient data.
 * https://hl7.org/fhir/R4/operationoutcome.html
 */
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

export function allOk(text = 'All OK'): OperationOutcome {
  return {
    resourceType: 'OperationOutcome',
    issue: [{ severity: 'information', code: 'informational', details: { text } }],
  };
}

export class OperationOutcomeError extends Error {
  readonly outcome: OperationOutcome;
  readonly status: number;

  constructor(outcome: OperationOutcome, status?: number) {
    super(outcome.issue?.[0]?.details?.text ?? 'Error');
    this.name = 'OperationOutcomeError';
    this.outcome = outcome;
    this.status = status ?? STATUS_BY_CODE[outcome.issue?.[0]?.code ?? 'exception'] ?? 500;
  }
}

export const badRequest = (text: string, expression?: string[]): OperationOutcomeError =>
  new OperationOutcomeError(outcome('invalid', text, { expression }));
export const unauthorized = (text = 'Unauthenticated'): OperationOutcomeError =>
  new OperationOutcomeError(outcome('security', text));
export const tooLarge = (text = 'Payload too large'): OperationOutcomeError =>
  new OperationOutcomeError(outcome('too-costly', text));
export const unsupportedMediaType = (text = 'Unsupported media type'): OperationOutcomeError =>
  new OperationOutcomeError(outcome('not-supported', text));

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

/** Normalises anything thrown into an OperationOutcomeError (unknown errors become a static 500 text). */
export function toOperationOutcomeError(err: unknown): OperationOutcomeError {
  if (err instanceof OperationOutcomeError) return err;
  return new OperationOutcomeError(outcome('exception', 'Internal error'), 500);
}
