/** FHIR date, dateTime and instant values, read as calendar days (https://hl7.org/fhir/R4/datatypes.html#dateTime). */

/** A calendar day, YYYY-MM-DD (the domain's IsoDate). */
type CalendarDay = string;

const isLeapYear = (y: number): boolean => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * The date part of a FHIR date/dateTime/instant, or undefined when it has none. Only a day that exists counts:
 * 2026-02-30 would roll over into March in date arithmetic and is not a valid FHIR date to write back, and year 0000 is
 * outside FHIR's range. Total on anything (input values need not be strings).
 * @param value - Anything.
 * @returns YYYY-MM-DD, or undefined.
 */
export function datePart(value: unknown): CalendarDay | undefined {
  if (typeof value !== 'string') return undefined;
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(value);
  if (!m) return undefined;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (year < 1 || month < 1 || month > 12 || day < 1) return undefined;
  if (day > (month === 2 && isLeapYear(year) ? 29 : (DAYS_IN_MONTH[month - 1] as number))) return undefined;
  return `${m[1]}-${m[2]}-${m[3]}`;
}

const INSTANT =
  /^\d{4}-\d{2}-\d{2}T([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d{1,9})?(Z|[+-]((0\d|1[0-3]):[0-5]\d|14:00))$/;

/**
 * Whether a value is a FHIR instant: a day that exists, a time to the second and a time zone
 * (https://hl7.org/fhir/R4/datatypes.html#instant), e.g. a Bulk Data `_since` or `transactionTime`.
 * @param value - Anything.
 * @returns True for an instant.
 */
export function isFhirInstant(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    INSTANT.test(value) &&
    datePart(value) !== undefined &&
    !Number.isNaN(Date.parse(value))
  );
}
