/**
 * The one logger (pino, JSON lines). House rule: log ids and counts only, never names, dates of birth,
 * identifiers' values or whole resources. Messages are static; variable data goes into fields.
 */
import { pino } from 'pino';

export const logger = pino({
  level: process.env.LOG_LEVEL ?? 'info',
  base: { service: 'irecist-adapter' },
  redact: {
    paths: ['req.headers.authorization', 'req.headers["x-signature"]', '*.secret', '*.privateKey'],
    remove: true,
  },
});

export type Logger = typeof logger;
