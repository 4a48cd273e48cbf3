/** Calendar-day arithmetic on YYYY-MM-DD dates (UTC, so no daylight-saving surprises). */
import type { IsoDate } from './types.ts';

const DAY_MS = 86_400_000;

const toUtcMs = (d: IsoDate): number =>
  Date.UTC(Number(d.slice(0, 4)), Number(d.slice(5, 7)) - 1, Number(d.slice(8, 10)));

/** Whole days from `a` to `b` (negative when b is before a). */
export function daysBetween(a: IsoDate, b: IsoDate): number {
  return Math.round((toUtcMs(b) - toUtcMs(a)) / DAY_MS);
}

export function addDays(d: IsoDate, days: number): IsoDate {
  return new Date(toUtcMs(d) + days * DAY_MS).toISOString().slice(0, 10);
}
