/**
 * The command line's error edge: the same `toOperationOutcome` as the HTTP edges; a 5xx (a bug or an unavailable
 * database) is logged with its stack (never its message, see describeError). What the user reads stays one line.
 */
import { type ErrorReply, toOperationOutcome } from '../fhir-model/to-operation-outcome.ts';
import { describeError, logger } from '../logging.ts';

/**
 * Turns a command's failure into its status and OperationOutcome, logging a 5xx with its stack.
 * @param err - What the command threw.
 * @param command - The command's name (for the log line).
 * @returns The status and outcome.
 */
export function commandError(err: unknown, command: string): ErrorReply {
  const reply = toOperationOutcome(err);
  if (reply.status >= 500) logger.error({ command, err: describeError(err) }, 'command failed');
  return reply;
}

/** The first issue's static text (what a one-line message says). */
export function issueText(reply: ErrorReply): string {
  return reply.outcome.issue?.[0]?.details?.text ?? 'Error';
}
