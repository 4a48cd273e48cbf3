import { describe, expect, it } from 'vitest';
import { HUMAN } from '../../src/domain/criteria-profile.ts';
import {
  evaluateNonTargets,
  evaluateTargets,
  meetsPartialResponse,
  meetsProgression,
  overallResponse,
  type TargetContext,
  targetSize,
} from '../../src/domain/recist.ts';
import type {
  Lesion,
  NewLesionResponse,
  NonTargetResponse,
  QualitativeState,
  RecistOverall,
  TargetResponse,
} from '../../src/domain/types.ts';
import { lesion, mm, responses, type ScanSpec, scan, series } from './builders.ts';

const ctx = (over: Partial<TargetContext> = {}): TargetContext => ({
  baselineSod: 1000,
  nadirSod: 1000,
  responseHeld: false,
  afterCompleteResponse: false,
  ...over,
});

function targets(ls: Lesion[], sizes: ScanSpec['sizes'], c: TargetContext, qualitative: ScanSpec['qualitative'] = {}) {
  const byId = new Map(ls.map((l) => [l.id, l] as const));
  return evaluateTargets(ls, scan({ date: '2026-02-16', sizes: sizes ?? {}, qualitative }, byId), c, HUMAN);
}

describe('meetsProgression: SOD >= nadir x 1.2 AND SOD - nadir >= 5 mm (integer tenths)', () => {
  it.each<[string, number, number, boolean]>([
    ['exactly +20% and +5.0 mm', mm(25), mm(30), true],
    ['exactly +20% and +20 mm', mm(100), mm(120), true],
    ['+20% but only +4.9 mm', mm(24.5), mm(29.4), false],
    ['+19.9% with +19.9 mm', mm(100), mm(119.9), false],
    ['+5.0 mm but only +10%', mm(50), mm(55), false],
    ['+25% and +5.0 mm', mm(20), mm(25), true],
    ['from a nadir of 0, +5.0 mm', 0, mm(5), true],
    ['from a nadir of 0, +4.9 mm', 0, mm(4.9), false],
    ['10.1 -> 15.1 mm is +5.0 mm and +49.5%', mm(10.1), mm(15.1), true],
    ['no change', mm(50), mm(50), false],
  ])('%s', (_name, nadir, sod, pd) => {
    expect(meetsProgression(sod, nadir)).toBe(pd);
  });
});

describe('meetsPartialResponse: SOD <= baseline x 0.7', () => {
  it.each<[string, number, number, boolean]>([
    ['exactly -30%', mm(100), mm(70), true],
    ['-29.9%', mm(100), mm(70.1), false],
    ['-62%', mm(165), mm(63), true],
    ['0', mm(10), 0, true],
    ['baseline 0, SOD 0', 0, 0, true],
  ])('%s', (_name, baseline, sod, pr) => {
    expect(meetsPartialResponse(sod, baseline)).toBe(pr);
  });
});

describe('evaluateTargets', () => {
  const L1 = lesion('L1');
  const L2 = lesion('L2');
  const N1 = lesion('N1', { nodal: true });
  const N2 = lesion('N2', { nodal: true });

  it.each<[string, Lesion[], ScanSpec['sizes'], Partial<TargetContext>, TargetResponse, number | undefined]>([
    // name, targets, sizes, context, response, SOD (tenths)
    ['SD: no change', [L1, L2], { L1: 60, L2: 40 }, {}, 'SD', 1000],
    ['PR: exactly -30% from baseline', [L1, L2], { L1: 40, L2: 30 }, {}, 'PR', 700],
    ['SD: -29.9%', [L1, L2], { L1: 40.1, L2: 30 }, {}, 'SD', 701],
    ['PD: +20% and +20 mm over nadir', [L1, L2], { L1: 70, L2: 50 }, {}, 'PD', 1200],
    ['SD: +19.9% (+19.9 mm) over nadir', [L1, L2], { L1: 69.9, L2: 50 }, {}, 'SD', 1199],
    ['PD: exactly +20%, +5.0 mm over a 25 mm nadir', [L1], { L1: 30 }, { baselineSod: 500, nadirSod: 250 }, 'PD', 300],
    [
      'PR (not PD): +20% but +4.9 mm over a 24.5 mm nadir',
      [L1],
      { L1: 29.4 },
      { baselineSod: 500, nadirSod: 245 },
      'PR',
      294,
    ],
    [
      'PD checked before PR: 30 mm is -70% from baseline but +50% over nadir',
      [L1],
      { L1: 30 },
      { nadirSod: 200 },
      'PD',
      300,
    ],
    ['CR: every non-nodal target gone', [L1, L2], { L1: 0, L2: 0 }, {}, 'CR', 0],
    ['CR: nodes under 10 mm short axis (SOD need not be 0)', [L1, N1, N2], { L1: 0, N1: 9.9, N2: 5 }, {}, 'CR', 149],
    ['not CR: a 10.0 mm node', [L1, N1], { L1: 0, N1: 10 }, {}, 'PR', 100],
    [
      'not CR: a non-nodal target too small to measure counts 5 mm',
      [L1],
      { L1: 'tstm' },
      { baselineSod: 300, nadirSod: 300 },
      'PR',
      50,
    ],
    [
      'CR: a node too small to measure counts 5 mm, under 10',
      [N1],
      { N1: 'tstm' },
      { baselineSod: 300, nadirSod: 300 },
      'CR',
      50,
    ],
    [
      'too small to measure counts 5 mm in the sum',
      [L1, L2],
      { L1: 'tstm', L2: 20 },
      { baselineSod: 500, nadirSod: 500 },
      'PR',
      250,
    ],
    ['PR holds until PD (EORTC FAQ)', [L1], { L1: 80 }, { responseHeld: true, nadirSod: 700 }, 'PR', 800],
    ['held PR gives way to PD', [L1], { L1: 84 }, { responseHeld: true, nadirSod: 700 }, 'PD', 840],
    ['without a held PR the same SOD is SD', [L1], { L1: 80 }, { nadirSod: 700 }, 'SD', 800],
    [
      'after CR a target node back to 10.0 mm is PD',
      [L1, N1],
      { L1: 0, N1: 10 },
      { nadirSod: 80, afterCompleteResponse: true },
      'PD',
      100,
    ],
    [
      'after CR a node at 9.9 mm is still CR',
      [L1, N1],
      { L1: 0, N1: 9.9 },
      { nadirSod: 80, afterCompleteResponse: true },
      'CR',
      99,
    ],
    [
      'after CR a non-nodal target that reappears (3 mm) is PD',
      [L1, L2],
      { L1: 3, L2: 0 },
      { nadirSod: 0, afterCompleteResponse: true },
      'PD',
      30,
    ],
    [
      'after CR a reappearing target too small to measure is PD',
      [L1],
      { L1: 'tstm' },
      { nadirSod: 0, afterCompleteResponse: true },
      'PD',
      50,
    ],
    [
      'after CR, a measured node back to 10.0 mm is PD with another target missing',
      [N1, N2],
      { N1: 10 },
      { nadirSod: 160, afterCompleteResponse: true },
      'PD',
      undefined,
    ],
    [
      'after CR, a reappearing non-nodal target is PD with another target missing',
      [L1, L2],
      { L1: 4 },
      { nadirSod: 0, afterCompleteResponse: true },
      'PD',
      undefined,
    ],
    [
      'after CR, measured targets still gone with another missing: NE',
      [L1, N1],
      { L1: 0 },
      { nadirSod: 0, afterCompleteResponse: true },
      'NE',
      undefined,
    ],
    ['missing target: NE', [L1, L2], { L1: 60 }, {}, 'NE', undefined],
    ['missing target: NE even when the rest shrank a lot', [L1, L2], { L1: 10 }, {}, 'NE', undefined],
    ['missing target: PD when the measured ones alone meet PD', [L1, L2], { L1: 120 }, {}, 'PD', undefined],
    ['missing target: +19.9% from the measured ones is still NE', [L1, L2], { L1: 119.9 }, {}, 'NE', undefined],
    ['no targets at all', [], {}, {}, 'none', undefined],
  ])('%s', (_name, ls, sizes, c, response, sod) => {
    const e = targets(ls, sizes, ctx(c));
    expect(e.response).toBe(response);
    expect(e.sod).toBe(sod);
  });

  it('a target reported qualitatively absent counts 0 mm', () => {
    const e = targets([L1, L2], { L1: 30 }, ctx(), { L2: 'absent' });
    expect(e.sod).toBe(300);
    expect(e.sizes.get('L2')).toBe(0);
    expect(e.missing).toEqual([]);
  });

  it('a missing target is listed, and measuredSum is the sum of the others', () => {
    const e = targets([L1, L2, N1], { L1: 120, N1: 12 }, ctx());
    expect(e.missing).toEqual(['L2']);
    expect(e.measuredSum).toBe(1320);
    expect(e.response).toBe('PD');
    expect(e.reason).toBe('the measured targets alone meet progression (+20% and +5 mm over nadir)');
  });

  it('targetSize: nodes by short axis; a node with only a long axis is not measured', () => {
    const s = scan(
      { date: '2026-02-16', sizes: { N1: { ld: 30 }, N2: { ld: 30, sa: 11 } } },
      new Map([
        ['N1', N1],
        ['N2', N2],
      ]),
    );
    expect(targetSize(N1, s, HUMAN)).toBeUndefined();
    expect(targetSize(N2, s, HUMAN)).toBe(110);
  });
});

describe('evaluateNonTargets', () => {
  const ls = [lesion('A'), lesion('B'), lesion('C')];
  const run = (q: Record<string, QualitativeState>, sizes: ScanSpec['sizes'] = {}, lesions = ls) =>
    evaluateNonTargets(
      lesions,
      scan({ date: '2026-02-16', sizes, qualitative: q }, new Map(lesions.map((l) => [l.id, l]))),
      HUMAN,
    );

  it.each<[string, Record<string, QualitativeState>, NonTargetResponse, string[]]>([
    ['all absent: CR', { A: 'absent', B: 'absent', C: 'absent' }, 'CR', []],
    ['one present: non-CR/non-PD', { A: 'absent', B: 'present', C: 'absent' }, 'non-CR-non-PD', []],
    ['any unequivocal progression: PD', { A: 'absent', B: 'present', C: 'unequivocal-progression' }, 'PD', ['C']],
    ['unequivocal progression wins over not assessed', { A: 'unequivocal-progression' }, 'PD', ['A']],
    ['any not assessed: NE', { A: 'absent', B: 'absent' }, 'NE', []],
    ['not assessed with some present: NE', { A: 'present' }, 'NE', []],
  ])('%s', (_name, q, response, progressing) => {
    const e = run(q);
    expect(e.response).toBe(response);
    expect(e.progressing).toEqual(progressing);
  });

  it('no non-targets: none', () => {
    expect(run({}, {}, []).response).toBe('none');
  });

  it('a measured non-target counts as present, or absent at 0 mm (nodes under 10 mm)', () => {
    const n = lesion('N', { nodal: true });
    const e = run({}, { A: 12, B: 0, N: 9.9 }, [lesion('A'), lesion('B'), n]);
    expect([...e.states]).toEqual([
      ['A', 'present'],
      ['B', 'absent'],
      ['N', 'absent'],
    ]);
    expect(e.response).toBe('non-CR-non-PD');
    expect(run({}, { B: 0, N: 10 }, [lesion('B'), n]).response).toBe('non-CR-non-PD');
    expect(run({}, { B: 0, N: 9.9 }, [lesion('B'), n]).response).toBe('CR');
  });

  it('a qualitative status wins over a measurement of the same lesion', () => {
    expect(run({ A: 'absent', B: 'absent', C: 'absent' }, { A: 30 }).response).toBe('CR');
  });

  // rules.md, "Non-target": `increased` (a further increase since the previous assessment) is not RECIST 1.1
  // progression by itself. The category stays non-PD and lists the increase; it confirms an iUPD in which non-target
  // disease took part, or a non-target progression already seen (irecist.ts), and reports show it as an increase.
  it('`increased` alone (no prior unequivocal progression) is not RECIST 1.1 non-target PD; it is listed', () => {
    const e = run({ A: 'increased', B: 'present', C: 'present' });
    expect([e.response, e.increased]).toEqual(['non-CR-non-PD', ['A']]);
  });
});

describe('overallResponse: every row of the RECIST 1.1 table (rules.md "Overall")', () => {
  const T: TargetResponse[] = ['CR', 'PR', 'SD', 'PD', 'NE', 'none'];
  const NT: NonTargetResponse[] = ['CR', 'non-CR-non-PD', 'PD', 'NE', 'none'];
  const NEW: NewLesionResponse[] = ['none', 'PD'];
  /** The table, written out independently of the code. */
  function expected(t: TargetResponse, nt: NonTargetResponse, nl: NewLesionResponse): RecistOverall {
    if (t === 'PD' || nt === 'PD' || nl === 'PD') return 'PD'; // any PD -> PD
    if (t === 'none') {
      // non-target disease only: CR, non-CR/non-PD, NE
      return nt === 'CR' ? 'CR' : nt === 'non-CR-non-PD' ? 'non-CR-non-PD' : 'NE';
    }
    if (t === 'CR') return nt === 'CR' || nt === 'none' ? 'CR' : 'PR'; // CR + non-CR/non-PD or NE -> PR
    if (t === 'PR') return 'PR'; // PR + non-PD (evaluated or not) -> PR
    if (t === 'SD') return 'SD'; // SD + non-PD -> SD
    return 'NE'; // targets not evaluated, no PD
  }
  const rows = T.flatMap((t) => NT.flatMap((nt) => NEW.map((nl) => [t, nt, nl, expected(t, nt, nl)] as const)));

  it('covers all 60 combinations', () => {
    expect(rows).toHaveLength(60);
  });

  it.each(rows)('target %s, non-target %s, new %s -> %s', (t, nt, nl, overall) => {
    expect(overallResponse(t, nt, nl)).toBe(overall);
  });

  it.each<[TargetResponse, NonTargetResponse, NewLesionResponse, RecistOverall]>([
    ['CR', 'CR', 'none', 'CR'],
    ['CR', 'none', 'none', 'CR'],
    ['CR', 'non-CR-non-PD', 'none', 'PR'],
    ['CR', 'NE', 'none', 'PR'],
    ['PR', 'non-CR-non-PD', 'none', 'PR'],
    ['PR', 'NE', 'none', 'PR'],
    ['SD', 'non-CR-non-PD', 'none', 'SD'],
    ['SD', 'NE', 'none', 'SD'],
    ['NE', 'non-CR-non-PD', 'none', 'NE'],
    ['NE', 'CR', 'none', 'NE'],
    ['PD', 'CR', 'none', 'PD'],
    ['CR', 'PD', 'none', 'PD'],
    ['CR', 'CR', 'PD', 'PD'],
    ['NE', 'NE', 'PD', 'PD'],
    ['none', 'CR', 'none', 'CR'],
    ['none', 'non-CR-non-PD', 'none', 'non-CR-non-PD'],
    ['none', 'NE', 'none', 'NE'],
    ['none', 'PD', 'none', 'PD'],
    ['none', 'CR', 'PD', 'PD'],
    ['none', 'none', 'none', 'NE'],
  ])('the rows of rules.md spelled out: %s + %s + new %s -> %s', (t, nt, nl, overall) => {
    expect(overallResponse(t, nt, nl)).toBe(overall);
  });
});

describe('RECIST 1.1 categories through assessPatient (no iUPD involved)', () => {
  it.each<[string, ScanSpec['sizes'][], string[]]>([
    [
      'shrinking to exactly -30% is iPR',
      [
        { L1: 60, L2: 40 },
        { L1: 40, L2: 30 },
      ],
      ['iPR'],
    ],
    [
      '-29.9% is iSD',
      [
        { L1: 60, L2: 40 },
        { L1: 40.1, L2: 30 },
      ],
      ['iSD'],
    ],
    [
      'all non-nodal targets gone is iCR',
      [
        { L1: 60, L2: 40 },
        { L1: 0, L2: 0 },
      ],
      ['iCR'],
    ],
    [
      'nodal targets under 10 mm and non-nodal gone is iCR',
      [
        { L1: 30, N1: 20 },
        { L1: 0, N1: 9.9 },
      ],
      ['iCR'],
    ],
    [
      'a 10.0 mm node is iPR, not iCR',
      [
        { L1: 30, N1: 20 },
        { L1: 0, N1: 10 },
      ],
      ['iPR'],
    ],
    ['a missing target is NE', [{ L1: 30, L2: 20 }, { L1: 30 }], ['NE']],
    ['a missing target with the rest at PD is iUPD', [{ L1: 30, L2: 20 }, { L1: 60 }], ['iUPD']],
    ['a missing target with the rest at +19.9% is NE', [{ L1: 50, L2: 20 }, { L1: 59.9 }], ['NE']],
  ])('%s', (_name, sizes, expected) => {
    expect(responses(series(sizes, { lesions: { N1: { nodal: true } } }))).toEqual(expected);
  });

  it('the nadir is the smallest earlier SOD; PD is measured from it, PR from baseline', () => {
    // 100 -> 90 (SD) -> 80 (SD, nadir 80) -> 96 (+20%, +16 mm from nadir 80: PD)
    expect(responses(series([{ L1: 100 }, { L1: 90 }, { L1: 80 }, { L1: 96 }]))).toEqual(['iSD', 'iSD', 'iUPD']);
    // 100 -> 80 -> 95.9 is +19.9%: SD
    expect(responses(series([{ L1: 100 }, { L1: 80 }, { L1: 95.9 }]))).toEqual(['iSD', 'iSD']);
  });

  it('an NE timepoint does not move the nadir', () => {
    // 100/50 -> L2 missing (NE) -> 120/60: +20% over nadir 150 = 180, so PD
    expect(responses(series([{ L1: 100, L2: 50 }, { L1: 10 }, { L1: 120, L2: 60 }]))).toEqual(['NE', 'iUPD']);
  });

  it('after an overall CR, a target node that grows back to 10 mm is progression', () => {
    const lesions = { N1: { nodal: true }, N2: { nodal: true } };
    expect(
      responses(
        series(
          [
            { N1: 20, N2: 20 },
            { N1: 8, N2: 8 },
            { N1: 10, N2: 8 },
          ],
          { lesions },
        ),
      ),
    ).toEqual(['iCR', 'iUPD']);
    // Without the CR before it, 8+8 -> 10+8 (+2 mm) is not PD.
    expect(
      responses(
        series(
          [
            { N1: 20, N2: 20 },
            { N1: 8, N2: 8 },
            { N1: 10, N2: 8 },
          ],
          { lesions, qualitative: [{ NT: 'present' }, { NT: 'present' }, { NT: 'present' }] },
        ),
      ),
    ).toEqual(['iPR', 'iPR']);
  });

  it('after an overall CR, a non-nodal target that reappears is progression', () => {
    expect(
      responses(
        series([
          { L1: 20, L2: 30 },
          { L1: 0, L2: 0 },
          { L1: 3, L2: 0 },
        ]),
      ),
    ).toEqual(['iCR', 'iUPD']);
  });

  it('after an overall CR, regrowth is progression even when another target was not measured', () => {
    const lesions = { N1: { nodal: true }, N2: { nodal: true } };
    expect(responses(series([{ N1: 20, N2: 20 }, { N1: 8, N2: 8 }, { N1: 10 }], { lesions }))).toEqual(['iCR', 'iUPD']);
    expect(responses(series([{ L1: 20, L2: 20 }, { L1: 0, L2: 0 }, { L1: 4 }]))).toEqual(['iCR', 'iUPD']);
    expect(responses(series([{ L1: 20, L2: 20 }, { L1: 0, L2: 0 }, { L1: 0 }]))).toEqual(['iCR', 'NE']);
  });
});
