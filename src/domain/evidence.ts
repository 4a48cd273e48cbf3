/**
 * Supporting evidence that never changes a response code (rules.md, "Patient status and evidence"):
 * ctDNA (Lee et al., JAMA Oncol 2018), clinical stability by ECOG, tumour-marker trends, timing.
 */
import { addDays, daysBetween } from './dates.ts';
import type { DataQualityIssue, IsoDate, LabValue } from './types.ts';

export type CtdnaSignal = 'supports-pseudoprogression' | 'supports-progression' | 'indeterminate' | 'no-data';

export interface CtdnaEvidence {
  signal: CtdnaSignal;
  baseline?: LabValue;
  latest?: LabValue;
  /** Baseline / lowest on-treatment value within 12 weeks, when both are numeric and positive. */
  foldFall?: number;
  values: LabValue[];
  /** What the values show, without an interpretation (e.g. "ctDNA fell 12.0-fold within 12 weeks of start (...)"). */
  facts: string;
  /** The facts with what they support (Lee 2018), e.g. "...: supports pseudoprogression". */
  text: string;
}

const TWELVE_WEEKS = 84;
const withSignal = (facts: string, signal: string) => ({ facts, text: `${facts}: ${signal}` });
/**
 * ISO dates compare as strings; a plain comparison is much cheaper than localeCompare on long histories. Ties by
 * source, so the order of the input never matters.
 */
const byDate = (a: LabValue, b: LabValue): number =>
  a.date < b.date ? -1 : a.date > b.date ? 1 : a.source < b.source ? -1 : a.source > b.source ? 1 : 0;
const undetectable = (v: LabValue): boolean => v.detected === false || v.value === 0;

/**
 * The values dated on or before `asOf`, in date order. Each series is sorted once and cut by binary search, since
 * the evidence is computed at every timepoint of a long history.
 */
const sortedSeries = new WeakMap<readonly LabValue[], LabValue[]>();
function sortedOf(values: readonly LabValue[]): LabValue[] {
  let sorted = sortedSeries.get(values);
  if (!sorted) {
    sorted = [...values].sort(byDate);
    sortedSeries.set(values, sorted);
  }
  return sorted;
}

/** The index of the first value of `sorted[from..to)` dated after `date` (`to` when there is none). */
function firstAfter(sorted: readonly LabValue[], date: IsoDate, from = 0, to = sorted.length): number {
  let lo = from;
  let hi = to;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]!.date <= date) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function upToDate(values: readonly LabValue[], asOf: IsoDate): LabValue[] {
  const sorted = sortedOf(values);
  return sorted.slice(0, firstAfter(sorted, asOf));
}

/**
 * Undetectable ctDNA at baseline, or a >= 10-fold fall within 12 weeks of start, supports pseudoprogression;
 * a rise above baseline supports true progression. Uses values up to `asOf`.
 */
export function ctdnaEvidence(
  values: readonly LabValue[],
  treatmentStart: IsoDate | undefined,
  asOf: IsoDate,
): CtdnaEvidence {
  const upTo = upToDate(values, asOf);
  if (upTo.length === 0) return { signal: 'no-data', values: [], facts: 'no ctDNA results', text: 'no ctDNA results' };
  const start = treatmentStart ?? upTo[0]!.date;
  // upTo is in date order, so each "dated on or before" is a binary search, not a pass over the whole history
  // (this runs at every timepoint).
  const baseline = upTo[Math.max(0, firstAfter(upTo, start) - 1)]!;
  const onTreatmentFrom = firstAfter(upTo, baseline.date);
  const earlyLimit = addDays(start, TWELVE_WEEKS);
  const latest = upTo.at(-1)!;
  // The first value and the latest few: enough to read the trend, and the text stays short on long histories.
  const shown = upTo.length > 5 ? [upTo[0]!, ...upTo.slice(-4)] : upTo;
  const series = `${shown.map((v) => `${v.date} ${formatLab(v)}`).join(', ')}${upTo.length > 5 ? ` (${upTo.length} results)` : ''}`;
  if (undetectable(baseline)) {
    return {
      signal: 'supports-pseudoprogression',
      baseline,
      latest,
      values: upTo,
      ...withSignal(`ctDNA undetectable at baseline (${series})`, 'supports pseudoprogression'),
    };
  }
  // Qualitative results count too: "not detected" within 12 weeks is a fall to undetectable (Lee 2018).
  const early = upTo.slice(onTreatmentFrom, firstAfter(upTo, earlyLimit, onTreatmentFrom));
  const lowest = early
    .filter((v) => v.value !== undefined)
    .reduce<LabValue | undefined>(
      (min, v) => (min === undefined || (v.value ?? 0) < (min.value ?? 0) ? v : min),
      undefined,
    );
  const foldFall =
    baseline.value !== undefined && baseline.value > 0 && lowest?.value !== undefined
      ? lowest.value === 0
        ? Number.POSITIVE_INFINITY
        : baseline.value / lowest.value
      : undefined;
  if ((foldFall !== undefined && foldFall >= 10) || early.some(undetectable)) {
    return {
      signal: 'supports-pseudoprogression',
      baseline,
      latest,
      foldFall,
      values: upTo,
      ...withSignal(
        `ctDNA fell ${foldFall === undefined || !Number.isFinite(foldFall) ? 'to undetectable' : `${foldFall.toFixed(1)}-fold`} within 12 weeks of start (${series})`,
        'supports pseudoprogression',
      ),
    };
  }
  const rising =
    latest !== baseline &&
    ((latest.detected === true && baseline.detected === false) ||
      (latest.value ?? 0) > (baseline.value ?? Number.POSITIVE_INFINITY));
  if (rising) {
    return {
      signal: 'supports-progression',
      baseline,
      latest,
      foldFall,
      values: upTo,
      ...withSignal(`ctDNA rising (${series})`, 'supports true progression'),
    };
  }
  return {
    signal: 'indeterminate',
    baseline,
    latest,
    foldFall,
    values: upTo,
    ...withSignal(`ctDNA ${series}`, 'no clear signal'),
  };
}

export interface EcogEvidence {
  baseline?: LabValue;
  latest?: LabValue;
  /** A rise to >= 2, or by >= 1 point from baseline. */
  unstable: boolean;
  text: string;
}

export function ecogEvidence(
  values: readonly LabValue[],
  treatmentStart: IsoDate | undefined,
  asOf: IsoDate,
): EcogEvidence {
  // Read in place from the sorted series (no copies): this runs at every timepoint of a long history.
  const sorted = sortedOf(values);
  const end = firstAfter(sorted, asOf);
  const first = nextValued(sorted, 0, end);
  if (first === undefined) return { unstable: false, text: 'no ECOG performance status recorded' };
  const start = treatmentStart ?? sorted[first]!.date;
  const baseline = sorted[lastValued(sorted, Math.min(end, firstAfter(sorted, start))) ?? first]!;
  const latest = sorted[lastValued(sorted, end)!]!;
  const b = baseline.value!;
  const l = latest.value!;
  const unstable = latest !== baseline && ((l >= 2 && l > b) || l - b >= 1);
  const text = unstable
    ? `clinically unstable: ECOG ${b} at baseline, ${l} on ${latest.date}`
    : `clinically stable: ECOG ${b} at baseline${latest !== baseline ? `, ${l} on ${latest.date}` : ''}`;
  return { baseline, latest, unstable, text };
}

/** The index of the first value with a number in `sorted[from..end)`. */
function nextValued(sorted: readonly LabValue[], from: number, end: number): number | undefined {
  for (let i = from; i < end; i++) if (sorted[i]!.value !== undefined) return i;
  return undefined;
}

/** The index of the last value with a number in `sorted[0..end)`. */
function lastValued(sorted: readonly LabValue[], end: number): number | undefined {
  for (let i = end - 1; i >= 0; i--) if (sorted[i]!.value !== undefined) return i;
  return undefined;
}

export interface MarkerTrend {
  name: string;
  first?: LabValue;
  latest?: LabValue;
  direction: 'rising' | 'falling' | 'flat' | 'single';
}

export function markerTrends(
  series: readonly { name: string; values: readonly LabValue[] }[],
  asOf: IsoDate,
): MarkerTrend[] {
  return series.flatMap((s) => {
    const sorted = sortedOf(s.values);
    const end = firstAfter(sorted, asOf);
    const firstAt = nextValued(sorted, 0, end);
    if (firstAt === undefined) return [];
    const latestAt = lastValued(sorted, end)!;
    const first = sorted[firstAt]!;
    const latest = sorted[latestAt]!;
    const direction: MarkerTrend['direction'] =
      firstAt === latestAt
        ? 'single'
        : latest.value! > first.value!
          ? 'rising'
          : latest.value! < first.value!
            ? 'falling'
            : 'flat';
    return [{ name: s.name, first, latest, direction }];
  });
}

export function formatLab(v: LabValue): string {
  if (v.value !== undefined) return `${v.value}${v.unit ? (v.unit === '%' ? '%' : ` ${v.unit}`) : ''}`;
  if (v.detected !== undefined) return v.detected ? 'detected' : 'not detected';
  return 'no value';
}

/**
 * A series as the evidence may compare it: numeric values in one unit (that of the most recent numeric value).
 * The mapping converts every series to one unit through UCUM first (src/mapping/harmonise-units.ts); this keeps a
 * trend or fold change from ever being computed across units, whoever built the record, and lists what it left out.
 */
export function inOneUnit(
  name: string,
  values: readonly LabValue[],
): { values: readonly LabValue[]; issues: DataQualityIssue[] } {
  const numeric = values.filter((v) => v.value !== undefined);
  const later = (a: LabValue, b: LabValue) => a.date > b.date || (a.date === b.date && a.source > b.source);
  const latest = numeric.reduce<LabValue | undefined>((a, v) => (a === undefined || later(v, a) ? v : a), undefined);
  const odd = numeric.filter((v) => v.unit !== latest?.unit);
  if (odd.length === 0) return { values, issues: [] };
  return {
    values: values.filter((v) => !odd.includes(v)),
    issues: odd.map((v) => ({
      code: 'unit-not-comparable',
      text: `${name}: a result in ${v.unit ?? 'no unit'} is not in the unit of the series (${latest?.unit ?? 'no unit'}); it was not used.`,
      source: v.source,
    })),
  };
}

/** iUPD within 12 weeks of start: where pseudoprogression is most common. */
export function isEarlyProgression(treatmentStart: IsoDate | undefined, date: IsoDate, windowDays: number): boolean {
  return treatmentStart !== undefined && daysBetween(treatmentStart, date) <= windowDays;
}
