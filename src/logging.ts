/**
 * The one logger (pino, JSON lines). House rule: log ids and counts only, never names, dates of birth,
 * identifiers' values or whole resources. Messages are static; variable data goes into fields.
 * Lines go to stdout, or are appended to LOG_FILE when it is set (the test suite collects every line that way and
 * scans them for patient data: test/log-scan).
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
  logFile ? pino.destination({ dest: logFile, append: true, mkdir: true, sync: true }) : undefined,
);

export type Logger = typeof logger;
