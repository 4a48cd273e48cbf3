import { describe, expect, it } from 'vitest';
import {
  ctdnaEvidence,
  ecogEvidence,
  formatLab,
  inOneUnit,
  isEarlyProgression,
  markerTrends,
} from '../../src/domain/evidence.ts';
import type { LabValue } from '../../src/domain/types.ts';
import { assess, type ScanSpec, series } from './builders.ts';

const START = '2026-01-05';
const v = (date: string, value: number, unit = '%'): LabValue => ({ date, value, unit, source: `Observation/${date}` });
const q = (date: string, detected: boolean): LabValue => ({ date, detected, source: `Observation/${date}` });

describe('ctDNA (Lee 2018): supporting evidence', () => {
  it.each<[string, LabValue[], string, string]>([
    // name, values, asOf, signal
    ['no values', [], '2026-03-01', 'no-data'],
    [
      'undetectable at baseline (qualitative)',
      [q('2026-01-02', false), q('2026-02-16', true)],
      '2026-03-01',
      'supports-pseudoprogression',
    ],
    [
      'undetectable at baseline (0%)',
      [v('2026-01-02', 0), v('2026-02-16', 3)],
      '2026-03-01',
      'supports-pseudoprogression',
    ],
    [
      'exactly 10-fold fall at 84 days',
      [v('2026-01-02', 10), v('2026-03-30', 1)],
      '2026-04-01',
      'supports-pseudoprogression',
    ],
    ['9.1-fold fall: no', [v('2026-01-02', 10), v('2026-02-16', 1.1)], '2026-03-01', 'indeterminate'],
    ['10-fold fall at 85 days: too late', [v('2026-01-02', 10), v('2026-03-31', 1)], '2026-04-01', 'indeterminate'],
    [
      'falls to undetectable within 12 weeks',
      [v('2026-01-02', 2), q('2026-02-16', false)],
      '2026-03-01',
      'supports-pseudoprogression',
    ],
    [
      'detected -> not detected within 12 weeks (qualitative only)',
      [q('2026-01-02', true), q('2026-03-30', false)],
      '2026-04-01',
      'supports-pseudoprogression',
    ],
    ['not detected only after 12 weeks', [v('2026-01-02', 2), q('2026-03-31', false)], '2026-04-01', 'indeterminate'],
    [
      'detected -> detected (qualitative only)',
      [q('2026-01-02', true), q('2026-02-16', true)],
      '2026-03-01',
      'indeterminate',
    ],
    [
      'falls to 0% within 12 weeks',
      [v('2026-01-02', 2), v('2026-02-16', 0)],
      '2026-03-01',
      'supports-pseudoprogression',
    ],
    [
      '10-fold fall within 12 weeks, rising later: still supports pseudoprogression',
      [v('2026-01-02', 10), v('2026-02-16', 0.5), v('2026-05-01', 20)],
      '2026-05-02',
      'supports-pseudoprogression',
    ],
    [
      'a rise above baseline supports progression',
      [v('2026-01-02', 5), v('2026-02-16', 8)],
      '2026-03-01',
      'supports-progression',
    ],
    [
      'a small fall then a rise above baseline',
      [v('2026-01-02', 5), v('2026-02-16', 4), v('2026-04-01', 6)],
      '2026-04-02',
      'supports-progression',
    ],
    ['values after asOf are not used', [v('2026-01-02', 5), v('2026-04-01', 8)], '2026-03-01', 'indeterminate'],
    ['a baseline value only', [v('2026-01-02', 5)], '2026-03-01', 'indeterminate'],
    ['flat', [v('2026-01-02', 5), v('2026-02-16', 5)], '2026-03-01', 'indeterminate'],
  ])('%s', (_name, values, asOf, signal) => {
    expect(ctdnaEvidence(values, START, asOf).signal).toBe(signal);
  });

  it('reports the fold fall, the baseline and latest values, and plain text', () => {
    const e = ctdnaEvidence([v('2026-02-16', 0.5), v('2025-12-20', 4), v('2026-01-02', 10)], START, '2026-03-01');
    expect(e.baseline?.value).toBe(10);
    expect(e.latest?.value).toBe(0.5);
    expect(e.foldFall).toBe(20);
    expect(e.values.map((x) => x.date)).toEqual(['2025-12-20', '2026-01-02', '2026-02-16']);
    expect(e.text).toBe(
      'ctDNA fell 20.0-fold within 12 weeks of start (2025-12-20 4%, 2026-01-02 10%, 2026-02-16 0.5%): supports pseudoprogression',
    );
  });

  it('rising text', () => {
    expect(ctdnaEvidence([v('2026-01-02', 5), v('2026-02-16', 8)], START, '2026-03-01').text).toBe(
      'ctDNA rising (2026-01-02 5%, 2026-02-16 8%): supports true progression',
    );
  });

  it('through assessPatient: evidence as of each scan, and it never changes the codes', () => {
    const spec = series([{ L1: 50 }, { L1: 70 }, { L1: 50 }]);
    const ctdna = [v('2026-01-02', 10), v('2026-02-10', 0.8), v('2026-03-25', 0.2)];
    const a = assess({ ...spec, ctdna });
    expect(a.timepoints.map((t) => [t.response, t.ctdna.signal, t.ctdna.latest?.value])).toEqual([
      ['iUPD', 'supports-pseudoprogression', 0.8],
      ['iSD', 'supports-pseudoprogression', 0.2],
    ]);
    expect(assess(spec).timepoints.map((t) => [t.response, t.status])).toEqual(
      a.timepoints.map((t) => [t.response, t.status]),
    );
  });
});

describe('ECOG: clinical stability', () => {
  it.each<[string, LabValue[], boolean]>([
    ['no values', [], false],
    ['baseline only', [v('2026-01-02', 1, '')], false],
    ['0 -> 1: rise by 1', [v('2026-01-02', 0, ''), v('2026-02-16', 1, '')], true],
    ['1 -> 2: rise to 2', [v('2026-01-02', 1, ''), v('2026-02-16', 2, '')], true],
    ['0 -> 3', [v('2026-01-02', 0, ''), v('2026-02-16', 3, '')], true],
    ['2 -> 2: no rise', [v('2026-01-02', 2, ''), v('2026-02-16', 2, '')], false],
    ['1 -> 0: better', [v('2026-01-02', 1, ''), v('2026-02-16', 0, '')], false],
    ['1 -> 2 -> 1: back', [v('2026-01-02', 1, ''), v('2026-02-01', 2, ''), v('2026-02-16', 1, '')], false],
    [
      'baseline = last on or before start: 2 (Dec) -> 0 (Jan) -> 1 (Feb)',
      [v('2025-12-01', 2, ''), v('2026-01-05', 0, ''), v('2026-02-16', 1, '')],
      true,
    ],
  ])('%s', (_name, values, unstable) => {
    expect(ecogEvidence(values, START, '2026-03-01').unstable).toBe(unstable);
  });

  it('text', () => {
    expect(ecogEvidence([v('2026-01-02', 0, ''), v('2026-02-16', 2, '')], START, '2026-03-01').text).toBe(
      'clinically unstable: ECOG 0 at baseline, 2 on 2026-02-16',
    );
    expect(ecogEvidence([v('2026-01-02', 1, '')], START, '2026-03-01').text).toBe(
      'clinically stable: ECOG 1 at baseline',
    );
    expect(ecogEvidence([], START, '2026-03-01').text).toBe('no ECOG performance status recorded');
  });

  it('values after the scan date are not used', () => {
    expect(ecogEvidence([v('2026-01-02', 0, ''), v('2026-03-02', 3, '')], START, '2026-03-01').unstable).toBe(false);
  });
});

describe('tumour-marker trends', () => {
  const s = (name: string, values: LabValue[]) => ({ name, values });
  it.each<[string, LabValue[], string | undefined]>([
    ['rising', [v('2026-01-02', 5, 'ng/mL'), v('2026-02-16', 8, 'ng/mL')], 'rising'],
    ['falling', [v('2026-01-02', 5, 'ng/mL'), v('2026-02-16', 3, 'ng/mL')], 'falling'],
    [
      'flat (first = latest)',
      [v('2026-01-02', 5, 'ng/mL'), v('2026-02-01', 9, 'ng/mL'), v('2026-02-16', 5, 'ng/mL')],
      'flat',
    ],
    ['single', [v('2026-01-02', 5, 'ng/mL')], 'single'],
    ['unsorted input', [v('2026-02-16', 8, 'ng/mL'), v('2026-01-02', 5, 'ng/mL')], 'rising'],
    ['values after asOf ignored', [v('2026-01-02', 5, 'ng/mL'), v('2026-04-01', 8, 'ng/mL')], 'single'],
    ['nothing up to asOf: no trend', [v('2026-04-01', 8, 'ng/mL')], undefined],
  ])('%s', (_name, values, direction) => {
    expect(markerTrends([s('CEA', values)], '2026-03-01').map((t) => t.direction)).toEqual(
      direction ? [direction] : [],
    );
  });

  it('keeps one trend per series with first and latest', () => {
    const t = markerTrends(
      [s('CEA', [v('2026-01-02', 5), v('2026-02-16', 8)]), s('LDH', [v('2026-01-02', 200)])],
      '2026-03-01',
    );
    expect(t.map((x) => [x.name, x.first?.value, x.latest?.value, x.direction])).toEqual([
      ['CEA', 5, 8, 'rising'],
      ['LDH', 200, 200, 'single'],
    ]);
  });

  it('formatLab', () => {
    expect(formatLab(v('2026-01-02', 0.5))).toBe('0.5%');
    expect(formatLab(v('2026-01-02', 12, 'ng/mL'))).toBe('12 ng/mL');
    expect(formatLab({ date: '2026-01-02', value: 3, source: 'x' })).toBe('3');
    expect(formatLab(q('2026-01-02', true))).toBe('detected');
    expect(formatLab(q('2026-01-02', false))).toBe('not detected');
    expect(formatLab({ date: '2026-01-02', source: 'x' })).toBe('no value');
  });
});

describe('timing: iUPD within 12 weeks of start', () => {
  it.each<[string, string | undefined, string, boolean]>([
    ['day 84', START, '2026-03-30', true],
    ['day 85', START, '2026-03-31', false],
    ['day 42', START, '2026-02-16', true],
    ['no treatment start', undefined, '2026-02-16', false],
  ])('%s -> %s', (_name, start, date, early) => {
    expect(isEarlyProgression(start, date, 84)).toBe(early);
  });

  it.each<[string, number, boolean]>([
    ['iUPD at day 84 is early', 84, true],
    ['iUPD at day 85 is not', 85, false],
  ])('through assessPatient: %s', (_name, day, early) => {
    const sizes: ScanSpec['sizes'][] = [{ L1: 50 }, { L1: 70 }];
    const a = assess(series(sizes, { step: day }));
    expect(a.timepoints[0]!.response).toBe('iUPD');
    expect(a.timepoints[0]!.earlyProgression).toBe(early);
  });

  it('the pending iUPD date is what counts, at later timepoints too', () => {
    const a = assess(series([{ L1: 50 }, { L1: 70 }, { L1: 72 }], { step: [42, 42] }));
    expect(a.timepoints.map((t) => [t.response, t.earlyProgression])).toEqual([
      ['iUPD', true],
      ['iUPD', true],
    ]);
    expect(assess(series([{ L1: 50 }, { L1: 50 }])).timepoints[0]!.earlyProgression).toBeUndefined();
  });
});

describe('inOneUnit: no trend across units, whoever built the record', () => {
  it('values not in the unit of the most recent value are left out and listed', () => {
    const values = [
      { date: '2026-01-05', value: 3.2, unit: '%', source: 'Observation/a' },
      { date: '2026-03-09', value: 0.032, unit: '1', source: 'Observation/b' },
    ];
    const r = inOneUnit('ctDNA', values);
    expect(r.values).toEqual([values[1]]);
    expect(r.issues).toEqual([
      {
        code: 'unit-not-comparable',
        text: 'ctDNA: a result in % is not in the unit of the series (1); it was not used.',
        source: 'Observation/a',
      },
    ]);
  });

  it('one unit throughout: the same values, no issue', () => {
    const values = [
      { date: '2026-01-05', value: 3.2, unit: '%', source: 'Observation/a' },
      { date: '2026-03-09', detected: false, source: 'Observation/b' },
    ];
    expect(inOneUnit('ctDNA', values)).toEqual({ values, issues: [] });
  });
});
