/**
 * Logs refused (and replayed) notifications without letting a flood of them flood the log. Anyone can send
 * requests to the endpoint, so one warn line per refusal would let them fill the disk at our expense: the first of
 * each kind in a window is logged at warn, the rest of that window only at debug, and the next warn line says how many
 * were held back. Lines carry the status and the issue code only: never the body, a header or what was presented.
 * Every refusal is also counted in the metrics (irecist_notifications_total{outcome="rejected"}).
 */
import type { Logger } from '../logging.ts';

export const REFUSAL_LOG_WINDOW_MS = 10_000;

export interface RefusalFields {
  status: number;
  code?: string | undefined;
}

export type RefusalLog = (fields: RefusalFields, message: string) => void;

export function createRefusalLog(log: Logger, options: { windowMs?: number; now?: () => number } = {}): RefusalLog {
  const windowMs = options.windowMs ?? REFUSAL_LOG_WINDOW_MS;
  const now = options.now ?? Date.now;
  // Per kind (status and message): when its window began and how many were held back since. A handful of kinds only.
  const windows = new Map<string, { start: number; heldBack: number }>();

  return (fields, message) => {
    const kind = `${fields.status} ${message}`;
    const at = now();
    const current = windows.get(kind);
    if (current && at - current.start < windowMs) {
      current.heldBack += 1;
      log.debug({ status: fields.status, code: fields.code }, message);
      return;
    }
    windows.set(kind, { start: at, heldBack: 0 });
    log.warn(
      { status: fields.status, code: fields.code, ...(current?.heldBack ? { heldBack: current.heldBack } : {}) },
      message,
    );
  };
}
