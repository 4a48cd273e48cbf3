/** Calendar-day arithmetic on YYYY-MM-DD dates (UTC, so no daylight-saving surprises). */
import type { IsoDate } from './types.ts';

const DAY_MS = 86_400_000;
// The same few dates and offsets come back at every timepoint of a history; the caches stay small (cleared when full).
const CACHE_MAX = 4096;

const utcMs = new Map<IsoDate, number>();
function toUtcMs(d: IsoDate): number {
  let ms = utcMs.get(d);
  if (ms === undefined) {
    ms = Date.UTC(Number(d.slice(0, 4)), Number(d.slice(5, 7)) - 1, Number(d.slice(8, 10)));
    if (utcMs.size >= CACHE_MAX) utcMs.clear();
    utcMs.set(d, ms);
  }
  return ms;
}

/** Whole days from `a` to `b` (negative when b is before a). */
export function daysBetween(a: IsoDate, b: IsoDate): number {
  return Math.round((toUtcMs(b) - toUtcMs(a)) / DAY_MS);
}

const added = new Map<string, IsoDate>();

export function addDays(d: IsoDate, days: number): IsoDate {
  const key = `${d}|${days}`;
  let result = added.get(key);
  if (result === undefined) {
    result = new Date(toUtcMs(d) + days * DAY_MS).toISOString().slice(0, 10);
    if (added.size >= CACHE_MAX) added.clear();
    added.set(key, result);
  }
  return result;
}
