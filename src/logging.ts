/**
 * The one logger (pino, JSON lines). House rule: log ids and counts only, never names, dates of birth,
 * identifiers' values or whole resources. Messages are static; variable data goes into fields.
 * Lines go to stderr (stdout carries the commands' results, e.g. `replay --list | jq`), or are appended to LOG_FILE
 * when it is set (the test suite collects every line that way and scans them for patient data: test/log-scan).
 */
import { pino } from 'pino';

const logFile = process.env.LOG_FILE;
// An unknown LOG_LEVEL would make pino throw here, at import, with the value in the message and a stack trace:
// fall back to info and let loadConfig report it like any other invalid setting (one line, no value).
const envLevel = process.env.LOG_LEVEL;
const level =
  envLevel !== undefined && (envLevel === 'silent' || Object.hasOwn(pino.levels.values, envLevel)) ? envLevel : 'info';

export const logger = pino(
  {
    level,
    base: { service: 'irecist-adapter' },
    redact: {
      paths: ['req.headers.authorization', 'req.headers["x-signature"]', '*.secret', '*.privateKey'],
      remove: true,
    },
  },
  pino.destination(logFile ? { dest: logFile, append: true, mkdir: true, sync: true } : { dest: 2, sync: true }),
);

export type Logger = typeof logger;

/** How deep `describeError` follows `cause`. */
const MAX_CAUSE_DEPTH = 4;

/**
 * Log fields for an error: its name, code and status, the frames of its stack, and the same for its `cause` chain.
 * Messages are left out, here and in the stack's first line: a message may quote the input (a JSON parse error quotes
 * the text it failed on), so only names, codes and code locations reach the log.
 * @param err - Anything thrown.
 * @returns Fields to log under `err`.
 */
export function describeError(err: unknown, depth = 0): Record<string, unknown> {
  if (!(err instanceof Error)) return { type: err === null ? 'null' : typeof err };
  const { code, status } = err as { code?: unknown; status?: unknown };
  const fields: Record<string, unknown> = { name: err.name };
  if (typeof code === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(code)) fields.code = code;
  if (typeof status === 'number') fields.status = status;
  fields.stack = (err.stack ?? '')
    .split('\n')
    .filter((line) => /^\s+at /.test(line))
    .map((line) => line.trim());
  if (err.cause !== undefined && depth < MAX_CAUSE_DEPTH) fields.cause = describeError(err.cause, depth + 1);
  return fields;
}
