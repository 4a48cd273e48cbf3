/**
 * Worked examples: the EORTC RECIST FAQ and iRECIST (Seymour 2017, Tables 2-3) style timepoint sequences,
 * run end to end through assessPatient, with the patient status and flag priority at every timepoint.
 */
import { describe, expect, it } from 'vitest';
import type { TimepointResponse } from '../../src/domain/types.ts';
import { assess, type PatientSpec, type ScanSpec, series } from './builders.ts';

type Sizes = ScanSpec['sizes'];
const sod = (total: number): Sizes => ({ L1: total - 50, L2: 50 });
const present = (n: number) => Array.from({ length: n }, () => ({ NT1: 'present' as const }));

const rows = (spec: PatientSpec) =>
  assess(spec).timepoints.map(
    (t) => [t.response, t.status, t.flagPriority ?? '-'] as [TimepointResponse, string, string],
  );

describe('EORTC RECIST FAQ: "Managing PR when TP measurements change slightly over time"', () => {
  it('100 -> 70 -> 70 -> 80 -> 80 -> 80 (non-targets unchanged) is iPR at every timepoint', () => {
    const a = assess(series([sod(100), sod(70), sod(70), sod(80), sod(80), sod(80)], { qualitative: present(6) }));
    expect(a.timepoints.map((t) => [t.target.response, t.response, t.status])).toEqual([
      ['PR', 'iPR', 'responding'],
      ['PR', 'iPR', 'responding'],
      ['PR', 'iPR', 'responding'],
      ['PR', 'iPR', 'responding'],
      ['PR', 'iPR', 'responding'],
    ]);
    expect(a.timepoints.map((t) => [t.target.sod, t.nadirSod, t.changeFromBaselinePct, t.changeFromNadirPct])).toEqual([
      [700, 1000, -30, -30],
      [700, 700, -30, 0],
      [800, 700, -20, 14.3],
      [800, 700, -20, 14.3],
      [800, 700, -20, 14.3],
    ]);
  });

  it('165 -> 63 -> 65 is a continued iPR (+3% from the nadir)', () => {
    const a = assess(series([sod(165), sod(63), sod(65)]));
    expect(a.timepoints.map((t) => [t.response, t.nadirSod, t.changeFromNadir])).toEqual([
      ['iPR', 1650, -1020],
      ['iPR', 630, 20],
    ]);
  });

  it('the held PR ends with PD: 100 -> 70 -> 84 (+20%, +14 mm from nadir) is iUPD', () => {
    expect(rows(series([sod(100), sod(70), sod(84)]))).toEqual([
      ['iPR', 'responding', '-'],
      ['iUPD', 'possible-pseudoprogression', 'medium'],
    ]);
  });
});

describe('EORTC RECIST FAQ: "How do new lesions define progression?"', () => {
  it('new lesions that stay the same: iUPD, iUPD, iUPD, then +5 mm on the NLT: iCPD', () => {
    const nl = (n: number): Sizes => ({ ...sod(100), NEW1: n });
    expect(rows(series([sod(100), nl(12), nl(12), nl(11), nl(17)]))).toEqual([
      ['iUPD', 'possible-pseudoprogression', 'medium'],
      ['iUPD', 'possible-pseudoprogression', 'medium'],
      ['iUPD', 'possible-pseudoprogression', 'medium'],
      ['iCPD', 'confirmed-progression', 'high'],
    ]);
  });

  it('+4 mm then +2 mm on the new-lesion target sum confirms', () => {
    const nl = (n: number): Sizes => ({ ...sod(100), NEW1: n });
    expect(assess(series([sod(100), nl(12), nl(16), nl(18)])).timepoints.map((t) => t.response)).toEqual([
      'iUPD',
      'iUPD',
      'iCPD',
    ]);
  });
});

describe('EORTC FAQ scenarios B, D and F ("must the new lesions resolve before iPR?")', () => {
  it('B: a new lesion, then further shrinkage of the targets: iPR with the new lesion still there', () => {
    expect(
      rows(series([sod(100), sod(75), { ...sod(72), NEW1: 12 }, { ...sod(60), NEW1: 12 }, { ...sod(60), NEW1: 12 }])),
    ).toEqual([
      ['iSD', 'stable', '-'],
      ['iUPD', 'possible-pseudoprogression', 'medium'],
      ['iPR', 'pseudoprogression', 'low'],
      ['iPR', 'pseudoprogression', 'low'],
    ]);
  });

  it('D: iUPD from target growth, which then shrinks to iPR', () => {
    expect(rows(series([sod(100), sod(60), sod(60), sod(75), sod(60)]))).toEqual([
      ['iPR', 'responding', '-'],
      ['iPR', 'responding', '-'],
      ['iUPD', 'possible-pseudoprogression', 'medium'],
      ['iPR', 'pseudoprogression', 'low'],
    ]);
  });

  it('F: PR first, then a new lesion, then no change in anything: stays iUPD', () => {
    expect(rows(series([sod(100), sod(60), { ...sod(60), NEW1: 12 }, { ...sod(60), NEW1: 12 }]))).toEqual([
      ['iPR', 'responding', '-'],
      ['iUPD', 'possible-pseudoprogression', 'medium'],
      ['iUPD', 'possible-pseudoprogression', 'medium'],
    ]);
  });
});

describe('EORTC FAQ: a scan under 4 weeks after iUPD', () => {
  it('an additional new lesion at 14 days confirms; growth of the iUPD new lesion at 14 days does not', () => {
    const base = sod(100);
    expect(
      assess(series([base, { ...base, NEW1: 12 }, { ...base, NEW1: 12, NEW2: 10 }], { step: [84, 14] })).timepoints.map(
        (t) => t.response,
      ),
    ).toEqual(['iUPD', 'iCPD']);
    expect(
      assess(
        series([base, { ...base, NEW1: 12 }, { ...base, NEW1: 20 }, { ...base, NEW1: 20 }], { step: [84, 14, 16] }),
      ).timepoints.map((t) => t.response),
    ).toEqual(['iUPD', 'iUPD', 'iCPD']);
  });
});

describe('iRECIST sequences (Seymour 2017 Tables 2-3 style)', () => {
  it.each<[string, Sizes[], (ScanSpec['qualitative'] | undefined)[], [TimepointResponse, string, string][]]>([
    [
      'iUPD confirmed at the next scan (primary resistance)',
      [sod(100), sod(130), sod(140)],
      [],
      [
        ['iUPD', 'possible-pseudoprogression', 'medium'],
        ['iCPD', 'confirmed-progression', 'high'],
      ],
    ],
    [
      'iSD, iPR, iUPD, iCPD, iCPD (acquired resistance)',
      [sod(100), sod(80), sod(60), sod(75), sod(80), sod(50)],
      [],
      [
        ['iSD', 'stable', '-'],
        ['iPR', 'responding', '-'],
        ['iUPD', 'possible-pseudoprogression', 'medium'],
        ['iCPD', 'confirmed-progression', 'high'],
        ['iCPD', 'confirmed-progression', 'high'],
      ],
    ],
    [
      'pseudoprogression: iUPD, iSD, iPR, iCR (the status stays until the next iUPD)',
      [sod(100), sod(130), sod(100), sod(60), { L1: 0, L2: 0 }],
      [],
      [
        ['iUPD', 'possible-pseudoprogression', 'medium'],
        ['iSD', 'pseudoprogression', 'low'],
        ['iPR', 'pseudoprogression', 'low'],
        ['iCR', 'pseudoprogression', 'low'],
      ],
    ],
    [
      'pseudoprogression, then a second iUPD which is confirmed',
      [sod(100), sod(130), sod(60), sod(80), sod(86)],
      [],
      [
        ['iUPD', 'possible-pseudoprogression', 'medium'],
        ['iPR', 'pseudoprogression', 'low'],
        ['iUPD', 'possible-pseudoprogression', 'medium'],
        ['iCPD', 'confirmed-progression', 'high'],
      ],
    ],
    [
      'non-target iUPD, no further change (iUPD), then a further increase (iCPD)',
      [sod(100), sod(100), sod(100), sod(100)],
      [
        { NT1: 'present' },
        { NT1: 'unequivocal-progression' },
        { NT1: 'unequivocal-progression' },
        { NT1: 'increased' },
      ],
      [
        ['iUPD', 'possible-pseudoprogression', 'medium'],
        ['iUPD', 'possible-pseudoprogression', 'medium'],
        ['iCPD', 'confirmed-progression', 'high'],
      ],
    ],
    [
      'non-target disease only: iNN, iCR, then a lesion reappears is not a non-target (it is new): iUPD',
      [{}, {}, {}, { NEW1: 5 }],
      [{ NT1: 'present' }, { NT1: 'present' }, { NT1: 'absent' }, { NT1: 'absent' }],
      [
        ['iNN', 'stable', '-'],
        ['iCR', 'responding', '-'],
        ['iUPD', 'possible-pseudoprogression', 'medium'],
      ],
    ],
    [
      'non-target disease only: NE when not assessed, iUPD on unequivocal progression',
      [{}, {}, {}],
      [{ NT1: 'present', NT2: 'present' }, { NT1: 'present' }, { NT1: 'present', NT2: 'unequivocal-progression' }],
      [
        ['NE', 'not-evaluable', '-'],
        ['iUPD', 'possible-pseudoprogression', 'medium'],
      ],
    ],
    [
      'NE while an iUPD is pending keeps the status and the pending iUPD',
      [sod(100), sod(100), sod(100), sod(100)],
      [{ NT1: 'present' }, { NT1: 'unequivocal-progression' }, {}, { NT1: 'increased' }],
      [
        ['iUPD', 'possible-pseudoprogression', 'medium'],
        ['NE', 'possible-pseudoprogression', 'medium'],
        ['iCPD', 'confirmed-progression', 'high'],
      ],
    ],
  ])('%s', (_name, sizes, qualitative, expected) => {
    expect(rows(series(sizes, { qualitative }))).toEqual(expected);
  });

  it('resistance is named at the first iCPD only', () => {
    const primary = assess(series([sod(100), sod(130), sod(140), sod(150)]));
    expect(primary.timepoints.map((t) => t.resistance)).toEqual([undefined, 'primary', undefined]);
    const acquired = assess(series([sod(100), sod(60), sod(75), sod(80)]));
    expect(acquired.timepoints.map((t) => t.resistance)).toEqual([undefined, undefined, 'acquired']);
    const afterCr = assess(series([sod(100), { L1: 0, L2: 0 }, { L1: 10, L2: 0 }, { L1: 20, L2: 0 }]));
    expect(afterCr.timepoints.map((t) => [t.response, t.resistance])).toEqual([
      ['iCR', undefined],
      ['iUPD', undefined],
      ['iCPD', 'acquired'],
    ]);
  });
});
