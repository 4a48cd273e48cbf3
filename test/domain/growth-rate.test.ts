import { describe, expect, it } from 'vitest';
import {
  assessHyperprogression,
  NO_PRE_BASELINE,
  SUM_MISSING,
  tumourGrowthRate,
} from '../../src/domain/growth-rate.ts';
import { assess, type PatientSpec } from './builders.ts';

/** TGR written out from rules.md, independently of the code: 100 x (exp(3 ln(s2/s1) / months) - 1). */
const tgr = (s1: number, s2: number, days: number) =>
  100 * (Math.exp((3 * Math.log(s2 / s1)) / ((days * 12) / 365.25)) - 1);

describe('tumourGrowthRate', () => {
  it.each<[string, number, number, string, string, number]>([
    // name, SOD1, SOD2 (tenths), date1, date2, expected TGR (% per month), computed by hand
    [
      'doubling of the SOD over 4 years (1461 days = 48 months): 100 x (2^(3/48) - 1)',
      500,
      1000,
      '2022-01-01',
      '2026-01-01',
      4.4273782427413755,
    ],
    ['55 / 50 mm over 61 days', 500, 550, '2025-11-01', '2026-01-01', 15.335179567977853],
    ['90 / 55 mm over 56 days', 550, 900, '2026-01-01', '2026-02-26', 123.22777638713922],
    ['no change', 500, 500, '2026-01-01', '2026-02-26', 0],
    ['halving over 48 months: 100 x (2^(-3/48) - 1)', 1000, 500, '2022-01-01', '2026-01-01', -4.23967193014263],
  ])('%s', (_name, s1, s2, d1, d2, expected) => {
    expect(tumourGrowthRate({ date: d1, sod: s1 }, { date: d2, sod: s2 })).toBeCloseTo(expected, 9);
  });

  it.each<[string, number, number, string, string]>([
    ['zero days', 500, 600, '2026-01-01', '2026-01-01'],
    ['negative days', 500, 600, '2026-02-01', '2026-01-01'],
    ['SOD1 = 0', 0, 600, '2026-01-01', '2026-02-01'],
    ['SOD2 = 0', 500, 0, '2026-01-01', '2026-02-01'],
  ])('undefined for %s', (_name, s1, s2, d1, d2) => {
    expect(tumourGrowthRate({ date: d1, sod: s1 }, { date: d2, sod: s2 })).toBeUndefined();
  });
});

describe('assessHyperprogression (Champiat: TGR_exp >= 2 x TGR_ref with RECIST PD)', () => {
  const pre = { date: '2025-11-01', sod: 500 };
  const base = { date: '2026-01-01', sod: 550 };
  const first = { date: '2026-02-26', sod: 900 };

  it('ratio 8.04 with PD: hyperprogression, with delta TGR', () => {
    const h = assessHyperprogression(pre, base, first, true);
    expect(h.hyperprogression).toBe(true);
    expect(h.tgrReference).toBeCloseTo(15.335179567977853, 9);
    expect(h.tgrExperimental).toBeCloseTo(123.22777638713922, 9);
    expect(h.ratio).toBeCloseTo(8.035626569672338, 9);
    expect(h.deltaTgr).toBeCloseTo(107.89259681916135, 9);
    expect(h.undefinedBecause).toBeUndefined();
  });

  it('the same growth without RECIST PD is not hyperprogression', () => {
    expect(assessHyperprogression(pre, base, first, false).hyperprogression).toBe(false);
  });

  it('ratio under 2 is not hyperprogression', () => {
    const h = assessHyperprogression(
      { date: '2025-12-04', sod: 400 },
      { date: '2026-01-01', sod: 500 },
      { date: '2026-02-26', sod: 620 },
      true,
    );
    expect(h.hyperprogression).toBe(false);
    expect(h.ratio).toBeCloseTo(0.392535163772591, 9);
    expect(h.deltaTgr).toBeCloseTo(-65.01865406787135, 9);
  });

  it('ratio just over and just under 2', () => {
    // TGR_ref = 10% per month exactly over one "month" of 365.25/12 days is not a whole number of days; use the
    // formula itself to pick SODs either side of the boundary.
    const ref = tgr(500, 520, 42);
    const expAt = (sod: number) => tgr(520, sod, 42);
    let lo = 520;
    let hi = 2000;
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (expAt(mid) >= 2 * ref) hi = mid;
      else lo = mid;
    }
    const p = { date: '2025-11-24', sod: 500 };
    const b = { date: '2026-01-05', sod: 520 };
    expect(assessHyperprogression(p, b, { date: '2026-02-16', sod: hi }, true).hyperprogression).toBe(true);
    expect(assessHyperprogression(p, b, { date: '2026-02-16', sod: lo }, true).hyperprogression).toBe(false);
    expect(assessHyperprogression(p, b, { date: '2026-02-16', sod: hi }, true).ratio).toBeGreaterThanOrEqual(2);
    expect(assessHyperprogression(p, b, { date: '2026-02-16', sod: lo }, true).ratio).toBeLessThan(2);
  });

  it.each<[string, Parameters<typeof assessHyperprogression>[0], number, string]>([
    ['no pre-baseline scan', undefined, 550, NO_PRE_BASELINE],
    [
      'shrinking before treatment (TGR_ref < 0)',
      { date: '2025-11-01', sod: 600 },
      550,
      'the tumour was not growing before treatment',
    ],
    [
      'flat before treatment (TGR_ref = 0)',
      { date: '2025-11-01', sod: 550 },
      550,
      'the tumour was not growing before treatment',
    ],
    ['pre-baseline SOD 0', { date: '2025-11-01', sod: 0 }, 550, SUM_MISSING],
  ])('undefined: %s', (_name, p, baseSod, because) => {
    const h = assessHyperprogression(p, { date: '2026-01-01', sod: baseSod }, first, true);
    expect(h.hyperprogression).toBe(false);
    expect(h.ratio).toBeUndefined();
    expect(h.undefinedBecause).toBe(because);
  });

  it('without a pre-baseline scan TGR_exp is still reported', () => {
    expect(assessHyperprogression(undefined, base, first, true).tgrExperimental).toBeCloseTo(123.22777638713922, 9);
  });
});

describe('hyperprogression through assessPatient', () => {
  const spec = (scans: [string, number][], extra: Partial<PatientSpec> = {}): PatientSpec => ({
    doses: ['2026-01-01'],
    scans: scans.map(([date, l1]) => ({ date, sizes: { L1: l1 - 20, L2: 20 } })),
    ...extra,
  });

  it('PD at the first on-treatment scan with TGR ratio >= 2: hyperprogression (priority high)', () => {
    const a = assess(
      spec([
        ['2025-11-01', 50],
        ['2026-01-01', 55],
        ['2026-02-26', 90],
      ]),
    );
    const tp = a.timepoints[0]!;
    expect([tp.response, tp.status, tp.flagPriority]).toEqual(['iUPD', 'hyperprogression', 'high']);
    expect(tp.hyperprogression?.ratio).toBeCloseTo(8.035626569672338, 9);
    expect(tp.hyperprogression?.deltaTgr).toBeCloseTo(107.89259681916135, 9);
  });

  it('hyperprogression lasts while the iUPD is pending and through its confirmation, until a reset', () => {
    const confirmed = assess(
      spec([
        ['2025-11-01', 50],
        ['2026-01-01', 55],
        ['2026-02-26', 90],
        ['2026-03-20', 92],
        ['2026-04-09', 96],
      ]),
    );
    expect(confirmed.timepoints.map((t) => [t.response, t.status])).toEqual([
      ['iUPD', 'hyperprogression'],
      ['iUPD', 'hyperprogression'],
      ['iCPD', 'hyperprogression'],
    ]);
    const reset = assess(
      spec([
        ['2025-11-01', 50],
        ['2026-01-01', 55],
        ['2026-02-26', 90],
        ['2026-04-09', 50],
      ]),
    );
    expect(reset.timepoints.map((t) => [t.response, t.status])).toEqual([
      ['iUPD', 'hyperprogression'],
      ['iSD', 'pseudoprogression'],
    ]);
  });

  it('ratio under 2: possible pseudoprogression, with the TGR values in the assessment', () => {
    const a = assess(
      spec([
        ['2025-12-04', 40],
        ['2026-01-01', 50],
        ['2026-02-26', 62],
      ]),
    );
    const tp = a.timepoints[0]!;
    expect([tp.response, tp.status]).toEqual(['iUPD', 'possible-pseudoprogression']);
    expect(tp.hyperprogression?.hyperprogression).toBe(false);
    expect(tp.hyperprogression?.ratio).toBeCloseTo(0.392535163772591, 9);
  });

  it('no pre-baseline scan: undefined, not hyperprogression', () => {
    const a = assess(
      spec([
        ['2026-01-01', 55],
        ['2026-02-26', 90],
      ]),
    );
    expect(a.timepoints[0]!.status).toBe('possible-pseudoprogression');
    expect(a.timepoints[0]!.hyperprogression).toMatchObject({
      hyperprogression: false,
      undefinedBecause: NO_PRE_BASELINE,
    });
  });

  it('shrinking before treatment: undefined, not hyperprogression', () => {
    const a = assess(
      spec([
        ['2025-11-01', 60],
        ['2026-01-01', 55],
        ['2026-02-26', 90],
      ]),
    );
    expect(a.timepoints[0]!.status).toBe('possible-pseudoprogression');
    expect(a.timepoints[0]!.hyperprogression?.undefinedBecause).toBe('the tumour was not growing before treatment');
  });

  it('only the first on-treatment timepoint is assessed', () => {
    const a = assess(
      spec([
        ['2025-11-01', 50],
        ['2026-01-01', 55],
        ['2026-02-12', 56],
        ['2026-02-26', 90],
      ]),
    );
    expect(a.timepoints.map((t) => [t.response, t.status, t.hyperprogression])).toEqual([
      ['iSD', 'stable', undefined],
      ['iUPD', 'possible-pseudoprogression', undefined],
    ]);
  });

  it('no immunotherapy: not assessed', () => {
    const a = assess(
      spec(
        [
          ['2025-11-01', 50],
          ['2026-01-01', 55],
          ['2026-02-26', 90],
        ],
        { doses: [] },
      ),
    );
    expect(a.timepoints.map((t) => [t.response, t.status, t.hyperprogression])).toEqual([
      ['iSD', 'stable', undefined],
      ['iUPD', 'possible-pseudoprogression', undefined],
    ]);
  });
});
