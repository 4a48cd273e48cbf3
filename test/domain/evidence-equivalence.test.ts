/**
 * The evidence readers were made to read the sorted series in place (binary search, no copies) for long histories;
 * the rules must not change. Random series (dates, numeric and qualitative values, ties, gaps) are read by them and
 * by the straightforward filters they replaced (below, as they were): the results must be equal.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addDays } from '../../src/domain/dates.ts';
import { ctdnaEvidence, ecogEvidence, markerTrends } from '../../src/domain/evidence.ts';
import type { IsoDate, LabValue } from '../../src/domain/types.ts';

const byDate = (a: LabValue, b: LabValue): number =>
  a.date < b.date ? -1 : a.date > b.date ? 1 : a.source < b.source ? -1 : a.source > b.source ? 1 : 0;
const upToDate = (values: readonly LabValue[], asOf: IsoDate): LabValue[] =>
  [...values].sort(byDate).filter((v) => v.date <= asOf);

/** ctDNA's baseline, fold fall window and early values, as the filters computed them. */
function referenceCtdna(values: readonly LabValue[], treatmentStart: IsoDate | undefined, asOf: IsoDate) {
  const upTo = upToDate(values, asOf);
  if (upTo.length === 0) return undefined;
  const start = treatmentStart ?? upTo[0]!.date;
  const baseline = upTo.filter((v) => v.date <= start).at(-1) ?? upTo[0]!;
  const onTreatment = upTo.filter((v) => v.date > baseline.date);
  const early = onTreatment.filter((v) => v.date <= addDays(start, 84));
  return { baseline, latest: upTo.at(-1), values: upTo, early };
}

function referenceEcog(values: readonly LabValue[], treatmentStart: IsoDate | undefined, asOf: IsoDate) {
  const upTo = upToDate(values, asOf).filter((v) => v.value !== undefined);
  if (upTo.length === 0) return undefined;
  const start = treatmentStart ?? upTo[0]!.date;
  return { baseline: upTo.filter((v) => v.date <= start).at(-1) ?? upTo[0]!, latest: upTo.at(-1)! };
}

function referenceMarker(values: readonly LabValue[], asOf: IsoDate) {
  const upTo = upToDate(values, asOf).filter((v) => v.value !== undefined);
  if (upTo.length === 0) return undefined;
  const first = upTo[0]!;
  const latest = upTo.at(-1)!;
  const direction =
    upTo.length === 1
      ? 'single'
      : latest.value! > first.value!
        ? 'rising'
        : latest.value! < first.value!
          ? 'falling'
          : 'flat';
  return { first, latest, direction };
}

const day = fc.integer({ min: 0, max: 400 }).map((d) => addDays('2025-01-01', d));
const labValue = fc.record(
  {
    date: day,
    value: fc.option(fc.integer({ min: 0, max: 50 }), { nil: undefined }),
    detected: fc.option(fc.boolean(), { nil: undefined }),
    source: fc.integer({ min: 0, max: 999 }).map((n) => `Observation/o${n}`),
  },
  { requiredKeys: ['date', 'source'] },
);
const series = fc.array(labValue, { maxLength: 30 });
const maybeDate = fc.option(day, { nil: undefined });

describe('evidence read in place equals the filters it replaced', () => {
  it('ctDNA: same baseline, latest, values and signal inputs', () => {
    fc.assert(
      fc.property(series, maybeDate, day, (values, start, asOf) => {
        const got = ctdnaEvidence(values, start, asOf);
        const want = referenceCtdna(values, start, asOf);
        if (!want) {
          expect(got.signal).toBe('no-data');
          return;
        }
        expect(got.values).toEqual(want.values);
        expect(got.latest).toBe(want.latest);
        expect(got.baseline).toBe(want.baseline);
        // Undetectable at baseline decides before any fold fall is computed.
        if (want.baseline.detected === false || want.baseline.value === 0) return;
        const lowest = want.early
          .filter((v) => v.value !== undefined)
          .reduce<LabValue | undefined>(
            (m, v) => (m === undefined || (v.value ?? 0) < (m.value ?? 0) ? v : m),
            undefined,
          );
        const fold =
          want.baseline.value !== undefined && want.baseline.value > 0 && lowest?.value !== undefined
            ? lowest.value === 0
              ? Number.POSITIVE_INFINITY
              : want.baseline.value / lowest.value
            : undefined;
        expect(got.foldFall).toBe(fold);
        const earlyUndetectable = want.early.some((v) => v.detected === false || v.value === 0);
        if ((fold !== undefined && fold >= 10) || earlyUndetectable)
          expect(got.signal).toBe('supports-pseudoprogression');
        else expect(got.signal).not.toBe('supports-pseudoprogression');
      }),
      { numRuns: 500 },
    );
  });

  it('ECOG: same baseline and latest', () => {
    fc.assert(
      fc.property(series, maybeDate, day, (values, start, asOf) => {
        const got = ecogEvidence(values, start, asOf);
        const want = referenceEcog(values, start, asOf);
        expect(got.baseline).toBe(want?.baseline);
        expect(got.latest).toBe(want?.latest);
      }),
      { numRuns: 500 },
    );
  });

  it('markers: same first, latest and direction', () => {
    fc.assert(
      fc.property(series, day, (values, asOf) => {
        const got = markerTrends([{ name: 'CEA', values }], asOf);
        const want = referenceMarker(values, asOf);
        expect(got[0]).toEqual(want ? { name: 'CEA', ...want } : undefined);
      }),
      { numRuns: 500 },
    );
  });
});
