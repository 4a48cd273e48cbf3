import { describe, expect, it } from 'vitest';
import { assessPatient } from '../../src/domain/assess.ts';
import { DOG, HUMAN } from '../../src/domain/criteria-profile.ts';
import { buildTimeline } from '../../src/domain/timeline.ts';
import type { Dose } from '../../src/domain/types.ts';
import { assess, patient } from './builders.ts';

const scansOn = (...dates: string[]) => patient({ scans: dates.map((date) => ({ date, sizes: { L1: 20 } })) }).scans;
const dosesOn = (...dates: string[]): Dose[] =>
  dates.map((date) => ({ date, drug: 'nivolumab', source: `MedicationAdministration/${date}` }));

describe('buildTimeline', () => {
  it.each<[string, string[], string[], string | undefined, string | undefined, string | undefined, string[]]>([
    // name, scans, doses, start, baseline, pre-baseline, timepoints
    [
      'baseline = last scan on or before the first dose',
      ['2026-01-02', '2025-12-01', '2026-02-16', '2026-03-30'],
      ['2026-01-26', '2026-01-05'],
      '2026-01-05',
      '2026-01-02',
      '2025-12-01',
      ['2026-02-16', '2026-03-30'],
    ],
    [
      'a scan on the day of the first dose is baseline',
      ['2026-01-05', '2026-02-16'],
      ['2026-01-05'],
      '2026-01-05',
      '2026-01-05',
      undefined,
      ['2026-02-16'],
    ],
    [
      'the first dose counts, not a later one after a scan',
      ['2026-01-01', '2026-01-10', '2026-02-20'],
      ['2026-01-15', '2026-01-08'],
      '2026-01-08',
      '2026-01-01',
      undefined,
      ['2026-01-10', '2026-02-20'],
    ],
    [
      'pre-baseline is the scan just before baseline',
      ['2025-09-01', '2025-11-01', '2025-12-20', '2026-02-16'],
      ['2026-01-05'],
      '2026-01-05',
      '2025-12-20',
      '2025-11-01',
      ['2026-02-16'],
    ],
    [
      'no immunotherapy: the first scan is baseline',
      ['2026-03-01', '2026-01-01', '2026-02-01'],
      [],
      undefined,
      '2026-01-01',
      undefined,
      ['2026-02-01', '2026-03-01'],
    ],
    [
      'no scan before treatment: the first scan is baseline',
      ['2026-02-16', '2026-03-30'],
      ['2026-01-05'],
      '2026-01-05',
      '2026-02-16',
      undefined,
      ['2026-03-30'],
    ],
  ])('%s', (_name, scans, doses, start, baseline, pre, timepoints) => {
    const t = buildTimeline(scansOn(...scans), dosesOn(...doses), HUMAN);
    expect(t.treatmentStart).toBe(start);
    expect(t.baseline?.date).toBe(baseline);
    expect(t.preBaseline?.date).toBe(pre);
    expect(t.timepoints.map((s) => s.date)).toEqual(timepoints);
  });

  it.each<[string, string[], string[], string[]]>([
    ['baseline 56 days before start: fine', ['2025-11-10', '2026-02-16'], ['2026-01-05'], []],
    [
      'baseline 57 days before start: baseline-too-old',
      ['2025-11-09', '2026-02-16'],
      ['2026-01-05'],
      ['baseline-too-old'],
    ],
    ['no immunotherapy', ['2026-01-01', '2026-02-16'], [], ['no-immunotherapy']],
    ['no pre-treatment scan', ['2026-02-16', '2026-03-30'], ['2026-01-05'], ['no-pretreatment-scan']],
    ['no scans at all', [], ['2026-01-05'], ['no-scans']],
  ])('issues: %s', (_name, scans, doses, codes) => {
    const t = buildTimeline(scansOn(...scans), dosesOn(...doses), HUMAN);
    expect(t.issues.map((i) => i.code)).toEqual(codes);
  });

  it('baseline-too-old names the baseline date, and the baseline is still used', () => {
    const t = buildTimeline(scansOn('2025-11-01', '2026-02-16'), dosesOn('2026-01-05'), HUMAN);
    expect(t.baseline?.date).toBe('2025-11-01');
    expect(t.issues).toEqual([
      {
        code: 'baseline-too-old',
        text: 'The baseline scan (2025-11-01) is 65 days before treatment start (2026-01-05), more than 56; it is used, but the comparison is less reliable.',
        date: '2025-11-01',
      },
    ]);
  });

  it('the dog profile uses the same 56-day baseline limit', () => {
    expect(buildTimeline(scansOn('2025-11-09'), dosesOn('2026-01-05'), DOG).issues.map((i) => i.code)).toEqual([
      'baseline-too-old',
    ]);
  });

  it('no scans: no baseline, no timepoints', () => {
    const t = buildTimeline([], dosesOn('2026-01-05'), HUMAN);
    expect(t.baseline).toBeUndefined();
    expect(t.timepoints).toEqual([]);
    expect(t.treatmentStart).toBe('2026-01-05');
  });
});

describe('timeline through assessPatient', () => {
  it('every scan after baseline is a timepoint, with days since start', () => {
    const a = assess({
      doses: ['2026-01-05', '2026-01-26'],
      scans: [
        { date: '2025-11-20', sizes: { L1: 20 } },
        { date: '2026-01-02', sizes: { L1: 22 } },
        { date: '2026-02-16', sizes: { L1: 22 } },
        { date: '2026-03-30', sizes: { L1: 22 } },
      ],
    });
    expect(a.treatmentStart).toBe('2026-01-05');
    expect(a.baseline?.date).toBe('2026-01-02');
    expect(a.preBaseline?.date).toBe('2025-11-20');
    expect(a.baselineSod).toBe(220);
    expect(a.timepoints.map((t) => [t.date, t.index, t.daysSinceStart])).toEqual([
      ['2026-02-16', 0, 42],
      ['2026-03-30', 1, 84],
    ]);
  });

  it('without immunotherapy the record says so and daysSinceStart is undefined', () => {
    const a = assess({
      scans: [
        { date: '2026-01-01', sizes: { L1: 20 } },
        { date: '2026-02-16', sizes: { L1: 20 } },
      ],
    });
    expect(a.issues.map((i) => i.code)).toContain('no-immunotherapy');
    expect(a.timepoints.map((t) => [t.date, t.response, t.daysSinceStart])).toEqual([['2026-02-16', 'iSD', undefined]]);
  });

  it('record-level issues from mapping are carried, then timeline and role issues', () => {
    const record = patient({ doses: ['2026-01-05'], scans: [{ date: '2025-11-01', sizes: { L1: 20 } }] });
    record.issues.push({ code: 'unknown-unit', text: 'x' });
    expect(assessPatient(record).issues.map((i) => i.code)).toEqual([
      'unknown-unit',
      'baseline-too-old',
      'roles-inferred',
    ]);
  });
});

describe('record and timepoint issues from assessPatient', () => {
  it('an explicit target without a baseline measurement: baseline-target-unmeasured, targets NE', () => {
    const a = assess({
      doses: ['2026-01-05'],
      lesions: { L1: { role: 'target' }, L2: { role: 'target' } },
      scans: [
        { date: '2026-01-05', sizes: { L1: 20 } },
        { date: '2026-02-16', sizes: { L1: 20, L2: 20 } },
      ],
    });
    expect(a.baselineSod).toBeUndefined();
    expect(a.issues).toEqual([
      {
        code: 'baseline-target-unmeasured',
        text: 'A target lesion has no baseline measurement; target responses cannot be evaluated.',
        date: '2026-01-05',
      },
    ]);
    expect(a.timepoints.map((t) => [t.target.response, t.target.reason, t.response])).toEqual([
      ['NE', 'no baseline sum of diameters', 'NE'],
    ]);
  });

  it('no lesion at baseline: no-baseline-lesions', () => {
    const a = assess({
      doses: ['2026-01-05'],
      scans: [
        { date: '2026-01-05', sizes: {} },
        { date: '2026-02-16', sizes: { L1: 20 } },
      ],
    });
    expect(a.issues.map((i) => i.code)).toEqual(['roles-inferred', 'no-baseline-lesions']);
    // The lesion first seen after baseline is new: iUPD.
    expect(a.timepoints.map((t) => t.response)).toEqual(['iUPD']);
  });

  it('a target not measured at a timepoint: target-not-measured on that timepoint', () => {
    const a = assess({
      doses: ['2026-01-05'],
      scans: [
        { date: '2026-01-05', sizes: { L1: 20, L2: 20 } },
        { date: '2026-02-16', sizes: { L1: 20 } },
        { date: '2026-03-30', sizes: { L1: 20, L2: 20 } },
      ],
    });
    expect(a.timepoints.map((t) => t.issues)).toEqual([
      [{ code: 'target-not-measured', text: 'Target lesion(s) not measured on 2026-02-16: L2.', date: '2026-02-16' }],
      [],
    ]);
  });
});
