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

/** The date part of a FHIR date/dateTime/instant, or undefined when it has none. */
export function datePart(value: string | undefined): IsoDate | undefined {
  if (!value) return undefined;
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(value);
  if (!m) return undefined;
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (month < 1 || month > 12 || day < 1 || day > 31) return undefined;
  return `${m[1]}-${m[2]}-${m[3]}`;
}
