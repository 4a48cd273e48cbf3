/**
 * iRECIST through assessPatient (rules.md "iRECIST"): iUPD triggers and references, iCPD confirmation,
 * confirmation intervals, reset (EORTC scenarios B and F), new lesions after a reset, iCPD is final.
 *
 * Default timeline: one dose and the baseline scan on 2026-01-05, then a scan every 42 days (`step`).
 * Baseline: two targets of 50 mm (SOD 100 mm) unless said otherwise.
 */
import { describe, expect, it } from 'vitest';
import { DOG, HUMAN } from '../../src/domain/criteria-profile.ts';
import { INITIAL_STATE, irecistStep } from '../../src/domain/irecist.ts';
import type { NewLesionEvaluation } from '../../src/domain/new-lesions.ts';
import type { NonTargetEvaluation, TargetEvaluation } from '../../src/domain/recist.ts';
import type { QualitativeState, TimepointResponse } from '../../src/domain/types.ts';
import { assess, type ResponseRow, responses, rowResponses, type ScanSpec, series } from './builders.ts';

type Sizes = ScanSpec['sizes'];
const BASE: Sizes = { L1: 50, L2: 50 };
/** SOD 120: +20%, +20 mm -> target PD. */
const UPD: Sizes = { L1: 70, L2: 50 };
const sod = (total: number): Sizes => ({ L1: total - 50, L2: 50 });

type Row = ResponseRow;
const run = rowResponses;

describe('iUPD: RECIST 1.1 PD in any category, with the reference recorded', () => {
  it('target PD: triggers [target], reference SOD 120 mm', () => {
    const a = assess(series([BASE, UPD]));
    const tp = a.timepoints[0]!;
    expect(tp.response).toBe('iUPD');
    expect(tp.step.triggers).toEqual(['target']);
    expect(tp.step.recist).toBe('PD');
    expect(tp.step.reference).toEqual({
      date: '2026-02-16',
      triggers: ['target'],
      sod: 1200,
      targetSizes: new Map([
        ['L1', 700],
        ['L2', 500],
      ]),
      nltSum: 0,
      nltSizes: new Map(),
      newCount: 0,
      ntProgressing: [],
      nlntSizes: new Map(),
      nlntProgressing: [],
    });
    expect(tp.confirmationWindow).toEqual({ from: '2026-03-16', to: '2026-04-13' });
  });

  it('non-target unequivocal progression: triggers [non-target], reference lists the progressing lesion', () => {
    const a = assess(
      series([{ L1: 50 }, { L1: 50 }], {
        qualitative: [
          { NT1: 'present', NT2: 'present' },
          { NT1: 'unequivocal-progression', NT2: 'present' },
        ],
      }),
    );
    const tp = a.timepoints[0]!;
    expect(tp.response).toBe('iUPD');
    expect(tp.step.triggers).toEqual(['non-target']);
    expect(tp.step.reference?.ntProgressing).toEqual(['NT1']);
    expect(tp.step.reference?.sod).toBe(500);
  });

  it('a new lesion: triggers [new-lesion], reference counts it and its NLT sum', () => {
    const a = assess(series([BASE, { ...BASE, NEW1: 12, NEW2: 8 }]));
    const tp = a.timepoints[0]!;
    expect(tp.response).toBe('iUPD');
    expect(tp.step.triggers).toEqual(['new-lesion']);
    expect(tp.step.reference).toMatchObject({ sod: 1000, nltSum: 120, newCount: 2, nlntProgressing: [] });
    expect([...(tp.step.reference?.nlntSizes ?? [])]).toEqual([['NEW2', 80]]);
  });

  it('all three at once', () => {
    const a = assess(
      series([BASE, { ...UPD, NEW1: 20 }], { qualitative: [{ NT1: 'present' }, { NT1: 'unequivocal-progression' }] }),
    );
    expect(a.timepoints[0]!.step.triggers).toEqual(['target', 'non-target', 'new-lesion']);
    expect(a.timepoints[0]!.step.reference).toMatchObject({
      sod: 1200,
      nltSum: 200,
      newCount: 1,
      ntProgressing: ['NT1'],
    });
  });

  it('a missing target with the measured ones at PD records the measured sum as reference', () => {
    const a = assess(series([{ L1: 50, L2: 50 }, { L1: 120 }]));
    expect(a.timepoints[0]!.response).toBe('iUPD');
    expect(a.timepoints[0]!.step.reference?.sod).toBe(1200);
  });
});

describe('iCPD: confirmation against the iUPD reference', () => {
  it.each<Row>([
    // Target-triggered (reference SOD 120)
    { name: 'target SOD +5.0 mm over the reference', sizes: [BASE, UPD, sod(125)], expected: ['iUPD', 'iCPD'] },
    { name: 'target SOD +4.9 mm: stays iUPD', sizes: [BASE, UPD, sod(124.9)], expected: ['iUPD', 'iUPD'] },
    {
      name: 'cumulative: +4 then +2 confirms',
      sizes: [BASE, UPD, sod(124), sod(126)],
      expected: ['iUPD', 'iUPD', 'iCPD'],
    },
    {
      name: 'cumulative: +4 then +0.9 does not',
      sizes: [BASE, UPD, sod(124), sod(124.9)],
      expected: ['iUPD', 'iUPD', 'iUPD'],
    },
    {
      name: 'measured against the reference, not the previous scan: 120 -> 110 -> 125',
      sizes: [BASE, UPD, sod(122), sod(125)],
      expected: ['iUPD', 'iUPD', 'iCPD'],
    },
    {
      name: '10.1 -> 15.1 mm on the iUPD lesion is exactly +5.0 mm',
      sizes: [
        { L1: 30, L2: 60.1 },
        { L1: 30, L2: 80.1 },
        { L1: 30, L2: 85.1 },
      ],
      expected: ['iUPD', 'iCPD'],
    },
    // Non-target-triggered
    {
      name: 'non-target triggered: any further increase confirms',
      sizes: [{ L1: 50 }, { L1: 50 }, { L1: 50 }],
      qualitative: [{ NT1: 'present' }, { NT1: 'unequivocal-progression' }, { NT1: 'increased' }],
      expected: ['iUPD', 'iCPD'],
    },
    {
      name: 'non-target triggered: another non-target now progressing confirms',
      sizes: [{ L1: 50 }, { L1: 50 }, { L1: 50 }],
      qualitative: [
        { NT1: 'present', NT2: 'present' },
        { NT1: 'unequivocal-progression', NT2: 'present' },
        { NT1: 'unequivocal-progression', NT2: 'unequivocal-progression' },
      ],
      expected: ['iUPD', 'iCPD'],
    },
    {
      name: 'non-target triggered: unchanged unequivocal progression stays iUPD (scenario F)',
      sizes: [{ L1: 50 }, { L1: 50 }, { L1: 50 }],
      qualitative: [{ NT1: 'present' }, { NT1: 'unequivocal-progression' }, { NT1: 'unequivocal-progression' }],
      expected: ['iUPD', 'iUPD'],
    },
    {
      name: 'non-target triggered: target SOD +5 mm is not enough (target did not trigger, not PD)',
      sizes: [{ L1: 50 }, { L1: 50 }, { L1: 55 }],
      qualitative: [{ NT1: 'present' }, { NT1: 'unequivocal-progression' }, { NT1: 'unequivocal-progression' }],
      expected: ['iUPD', 'iUPD'],
    },
    // New-lesion-triggered
    {
      name: 'NLT sum +5.0 mm confirms',
      sizes: [BASE, { ...BASE, NEW1: 12 }, { ...BASE, NEW1: 17 }],
      expected: ['iUPD', 'iCPD'],
    },
    {
      name: 'NLT sum +4.9 mm stays iUPD',
      sizes: [BASE, { ...BASE, NEW1: 12 }, { ...BASE, NEW1: 16.9 }],
      expected: ['iUPD', 'iUPD'],
    },
    {
      name: 'NLT sum: +4 then +2 confirms',
      sizes: [BASE, { ...BASE, NEW1: 12 }, { ...BASE, NEW1: 16 }, { ...BASE, NEW1: 18 }],
      expected: ['iUPD', 'iUPD', 'iCPD'],
    },
    {
      name: 'NLT sum over two new-lesion targets +5.0 mm confirms',
      sizes: [BASE, { ...BASE, NEW1: 12, NEW2: 20 }, { ...BASE, NEW1: 14, NEW2: 23 }],
      expected: ['iUPD', 'iCPD'],
    },
    {
      name: 'any NLNT increase (8 -> 8.1 mm) confirms',
      sizes: [BASE, { ...BASE, NEW1: 8 }, { ...BASE, NEW1: 8.1 }],
      expected: ['iUPD', 'iCPD'],
    },
    {
      name: 'NLNT reported in unequivocal progression confirms',
      sizes: [BASE, { ...BASE, NEW1: 8 }, BASE],
      qualitative: [undefined, undefined, { NEW1: 'unequivocal-progression' }],
      expected: ['iUPD', 'iCPD'],
    },
    {
      name: 'NLNT unchanged stays iUPD',
      sizes: [BASE, { ...BASE, NEW1: 8 }, { ...BASE, NEW1: 8 }],
      expected: ['iUPD', 'iUPD'],
    },
    {
      name: 'more new lesions than at the reference confirms',
      sizes: [BASE, { ...BASE, NEW1: 12 }, { ...BASE, NEW1: 12, NEW2: 5 }],
      expected: ['iUPD', 'iCPD'],
    },
    // PD newly met in a category that had not triggered
    {
      name: 'iUPD by new lesion, then target PD newly met',
      sizes: [BASE, { ...BASE, NEW1: 12 }, { ...UPD, NEW1: 12 }],
      expected: ['iUPD', 'iCPD'],
    },
    {
      name: 'iUPD by target, then non-target unequivocal progression newly met',
      sizes: [BASE, UPD, UPD],
      qualitative: [{ NT1: 'present' }, { NT1: 'present' }, { NT1: 'unequivocal-progression' }],
      expected: ['iUPD', 'iCPD'],
    },
    {
      name: 'iUPD by target, then a new lesion appears',
      sizes: [BASE, UPD, { ...UPD, NEW1: 4 }],
      expected: ['iUPD', 'iCPD'],
    },
    {
      name: 'iUPD by non-target, then target PD newly met',
      sizes: [BASE, BASE, UPD],
      qualitative: [{ NT1: 'present' }, { NT1: 'unequivocal-progression' }, { NT1: 'unequivocal-progression' }],
      expected: ['iUPD', 'iCPD'],
    },
  ])('$name', (row) => {
    expect(run(row)).toEqual(row.expected);
  });

  // The iUPD rested on the measured targets alone (L2 not measured): later sums are compared over the same
  // lesions, so L2 being measured again is not growth.
  it.each<Row>([
    {
      name: 'iUPD on measured targets alone; the missing target measured again (smaller) is not +5 mm',
      sizes: [BASE, { L1: 120 }, { L1: 120, L2: 45 }],
      expected: ['iUPD', 'iUPD'],
    },
    {
      name: 'iUPD on measured targets alone; the same lesions +5.0 mm confirm',
      sizes: [BASE, { L1: 120 }, { L1: 125 }],
      expected: ['iUPD', 'iCPD'],
    },
    {
      name: 'iUPD on measured targets alone; the same lesions +4.9 mm do not',
      sizes: [BASE, { L1: 120 }, { L1: 124.9, L2: 50 }],
      expected: ['iUPD', 'iUPD'],
    },
    {
      // The triggering target category cannot be evaluated and nothing confirms: NE, the iUPD still pending.
      name: 'complete iUPD sum; a target missing later cannot confirm by size: NE',
      sizes: [BASE, UPD, { L1: 90 }],
      expected: ['iUPD', 'NE'],
    },
  ])('$name', (row) => {
    expect(run(row)).toEqual(row.expected);
  });

  it('the confirming step says why', () => {
    const a = assess(series([BASE, UPD, sod(126)]));
    expect(a.timepoints[1]!.step.confirmedBy).toEqual([
      'sum of diameters 126.0 mm, 6.0 mm above the iUPD sum (120.0 mm)',
    ]);
    expect(a.timepoints[1]!.step.reference?.date).toBe('2026-02-16');
    expect(a.timepoints[1]!.step.daysSinceUpd).toBe(42);
  });
});

describe('confirmation intervals', () => {
  it.each<Row>([
    // Human: minimum 28 days
    {
      name: 'human, 27 days: cannot confirm',
      sizes: [BASE, UPD, sod(130)],
      step: [42, 27],
      expected: ['iUPD', 'iUPD'],
    },
    { name: 'human, 28 days: confirms', sizes: [BASE, UPD, sod(130)], step: [42, 28], expected: ['iUPD', 'iCPD'] },
    {
      name: 'human, 27 days: an additional new lesion confirms',
      sizes: [BASE, UPD, { ...UPD, NEW1: 12 }],
      step: [42, 27],
      expected: ['iUPD', 'iCPD'],
    },
    {
      name: 'human, 14 days: growth of the existing new lesion cannot confirm',
      sizes: [BASE, { ...BASE, NEW1: 12 }, { ...BASE, NEW1: 30 }],
      step: [42, 14],
      expected: ['iUPD', 'iUPD'],
    },
    {
      name: 'human, 27 days: shrinkage cannot reset either',
      sizes: [BASE, UPD, BASE],
      step: [42, 27],
      expected: ['iUPD', 'iUPD'],
    },
    {
      name: 'human, an early scan (27 d) then one at 41 d confirms',
      sizes: [BASE, UPD, sod(130), sod(130)],
      step: [42, 27, 14],
      expected: ['iUPD', 'iUPD', 'iCPD'],
    },
    { name: 'human, 56 days: confirms', sizes: [BASE, UPD, sod(130)], step: [42, 56], expected: ['iUPD', 'iCPD'] },
    {
      name: 'human, 90 days: still confirms',
      sizes: [BASE, UPD, sod(130)],
      step: [42, 90],
      expected: ['iUPD', 'iCPD'],
    },
    // Dog: 21 to 28 days
    {
      name: 'dog, 20 days: cannot confirm',
      species: 'dog',
      sizes: [BASE, UPD, sod(130)],
      step: [21, 20],
      expected: ['iUPD', 'iUPD'],
    },
    {
      name: 'dog, 21 days: confirms',
      species: 'dog',
      sizes: [BASE, UPD, sod(130)],
      step: [21, 21],
      expected: ['iUPD', 'iCPD'],
    },
    {
      name: 'dog, 20 days: reset not allowed',
      species: 'dog',
      sizes: [BASE, UPD, BASE],
      step: [21, 20],
      expected: ['iUPD', 'iUPD'],
    },
    {
      name: 'dog, 21 days: reset',
      species: 'dog',
      sizes: [BASE, UPD, BASE],
      step: [21, 21],
      expected: ['iUPD', 'iSD'],
    },
    {
      name: 'dog, 14 days: an additional new lesion confirms',
      species: 'dog',
      sizes: [BASE, UPD, { ...UPD, NEW1: 6 }],
      step: [21, 14],
      expected: ['iUPD', 'iCPD'],
    },
  ])('$name', (row) => {
    expect(run(row)).toEqual(row.expected);
  });

  it.each<[string, 'human' | 'dog', number, boolean]>([
    ['human 56 days: not late', 'human', 56, false],
    ['human 57 days: late', 'human', 57, true],
    ['dog 28 days: not late', 'dog', 28, false],
    ['dog 29 days: late', 'dog', 29, true],
  ])('%s', (_name, species, days, late) => {
    const a = assess(series([BASE, UPD, sod(130)], { step: [21, days], species }));
    const tp = a.timepoints[1]!;
    expect(tp.response).toBe('iCPD');
    expect(tp.step.late).toBe(late);
    expect(tp.step.daysSinceUpd).toBe(days);
    expect(tp.issues.map((i) => i.code)).toEqual(late ? ['late-confirmation'] : []);
    if (late) {
      const max = species === 'dog' ? 28 : 56;
      expect(tp.issues[0]).toEqual({
        code: 'late-confirmation',
        text: `The confirming scan came ${days} days after iUPD, later than the ${max}-day window.`,
        date: tp.date,
      });
    }
  });

  it('confirmation windows: human 28-56 days, dog 21-28 days after iUPD', () => {
    expect(assess(series([BASE, UPD], { step: 42 })).timepoints[0]!.confirmationWindow).toEqual({
      from: '2026-03-16',
      to: '2026-04-13',
    });
    expect(assess(series([BASE, UPD], { step: 21, species: 'dog' })).timepoints[0]!.confirmationWindow).toEqual({
      from: '2026-02-16',
      to: '2026-02-23',
    });
  });

  it('profiles', () => {
    expect([
      HUMAN.minConfirmationDays,
      HUMAN.maxConfirmationDays,
      DOG.minConfirmationDays,
      DOG.maxConfirmationDays,
    ]).toEqual([28, 56, 21, 28]);
  });
});

describe('reset (pseudoprogression) vs continued iUPD', () => {
  it.each<Row>([
    { name: 'target back to baseline: iSD', sizes: [BASE, UPD, BASE], expected: ['iUPD', 'iSD'] },
    { name: 'target down 40% from baseline: iPR', sizes: [BASE, UPD, sod(60)], expected: ['iUPD', 'iPR'] },
    { name: 'targets gone: iCR', sizes: [BASE, UPD, { L1: 0, L2: 0 }], expected: ['iUPD', 'iCR'] },
    {
      name: 'target still PD vs nadir but under the reference +5: stays iUPD',
      sizes: [BASE, UPD, sod(121)],
      expected: ['iUPD', 'iUPD'],
    },
    {
      name: 'target down to 119.9 (below PD, +19.9% over nadir): reset to iSD',
      sizes: [BASE, UPD, sod(119.9)],
      expected: ['iUPD', 'iSD'],
    },
    {
      name: 'reset is measured against the nadir: PR held before iUPD does not come back',
      sizes: [BASE, sod(60), sod(75), sod(66)],
      expected: ['iPR', 'iUPD', 'iPR'],
    },
    {
      name: 'non-target triggered, back to present: iSD',
      sizes: [BASE, BASE, BASE],
      qualitative: [{ NT1: 'present' }, { NT1: 'unequivocal-progression' }, { NT1: 'present' }],
      expected: ['iUPD', 'iSD'],
    },
    {
      name: 'non-target only disease: iUPD then back to present is iNN',
      sizes: [{}, {}, {}],
      qualitative: [{ NT1: 'present' }, { NT1: 'unequivocal-progression' }, { NT1: 'present' }],
      expected: ['iUPD', 'iNN'],
    },
    {
      // iRECIST Table 3, sequence 8: the triggering category cannot be evaluated and nothing confirms: NE, the iUPD
      // still pending; a later further increase confirms it.
      name: 'non-target triggered, non-target not assessed: NE, then any increase confirms',
      sizes: [BASE, BASE, BASE, BASE],
      qualitative: [{ NT1: 'present' }, { NT1: 'unequivocal-progression' }, {}, { NT1: 'increased' }],
      expected: ['iUPD', 'NE', 'iCPD'],
    },
    {
      name: 'target triggered, target not measured: NE',
      sizes: [BASE, UPD, { L1: 50 }],
      expected: ['iUPD', 'NE'],
    },
    {
      name: 'target triggered, back to baseline with the non-target not assessed: reset to iSD',
      sizes: [BASE, UPD, BASE],
      qualitative: [{ NT1: 'present' }, { NT1: 'present' }, {}],
      expected: ['iUPD', 'iSD'],
    },
    // EORTC scenario B and F (new lesions took part in the iUPD)
    {
      name: 'scenario B: new-lesion iUPD, target SOD falls since the previous timepoint, new lesion unchanged: reset',
      sizes: [BASE, { ...BASE, NEW1: 12 }, { ...sod(95), NEW1: 12 }],
      expected: ['iUPD', 'iSD'],
    },
    {
      name: 'scenario B to iPR',
      sizes: [BASE, { ...sod(80), NEW1: 12 }, { ...sod(60), NEW1: 12 }],
      expected: ['iUPD', 'iPR'],
    },
    {
      name: 'scenario F: new-lesion iUPD, nothing changed: stays iUPD',
      sizes: [BASE, { ...BASE, NEW1: 12 }, { ...BASE, NEW1: 12 }],
      expected: ['iUPD', 'iUPD'],
    },
    {
      name: 'scenario F after PR: PR, new-lesion iUPD, no change: iUPD',
      sizes: [BASE, sod(60), { ...sod(60), NEW1: 12 }, { ...sod(60), NEW1: 12 }],
      expected: ['iPR', 'iUPD', 'iUPD'],
    },
    {
      name: 'scenario F: target SOD up a little (not +5) with the new lesion: stays iUPD',
      sizes: [BASE, { ...BASE, NEW1: 12 }, { ...sod(102), NEW1: 12 }],
      expected: ['iUPD', 'iUPD'],
    },
    {
      name: 'target + new lesion triggered, SOD falls below PD with the new lesion still there: reset',
      sizes: [BASE, { ...UPD, NEW1: 12 }, { ...sod(105), NEW1: 12 }],
      expected: ['iUPD', 'iSD'],
    },
    {
      // iRECIST Table 2 ("new lesions: no" with a previous iUPD gives iSD/iPR/iCR): the engine also resets when
      // the new lesions have resolved although the target SOD did not fall. rules.md names only the SOD fall.
      name: 'new-lesion iUPD, new lesion resolved, SOD unchanged: reset (iRECIST Table 2)',
      sizes: [BASE, { ...BASE, NEW1: 12 }, { ...BASE, NEW1: 0 }],
      expected: ['iUPD', 'iSD'],
    },
    {
      name: 'non-target only disease with a new lesion, unchanged: stays iUPD (no SOD can fall)',
      sizes: [{}, { NEW1: 12 }, { NEW1: 12 }],
      qualitative: [{ NT1: 'present' }, { NT1: 'present' }, { NT1: 'present' }],
      expected: ['iUPD', 'iUPD'],
    },
  ])('$name', (row) => {
    expect(run(row)).toEqual(row.expected);
  });

  it('a reset step is marked, and the status becomes pseudoprogression', () => {
    const a = assess(series([BASE, UPD, BASE]));
    expect(a.timepoints.map((t) => [t.response, t.status, t.step.reset ?? false])).toEqual([
      ['iUPD', 'possible-pseudoprogression', false],
      ['iSD', 'pseudoprogression', true],
    ]);
  });
});

describe('after a reset: existing new lesions', () => {
  /** iUPD by a new lesion NEW1 (12 mm, NLT) at t1, reset at t2 (target SOD fell to 95). */
  const upToReset: Sizes[] = [BASE, { ...BASE, NEW1: 12 }, { ...sod(95), NEW1: 12 }];

  it.each<Row>([
    {
      name: 'the same new lesion, unchanged: no new iUPD',
      sizes: [...upToReset, { ...sod(95), NEW1: 12 }],
      expected: ['iUPD', 'iSD', 'iSD'],
    },
    {
      name: 'a further new lesion: new iUPD',
      sizes: [...upToReset, { ...sod(95), NEW1: 12, NEW2: 5 }],
      expected: ['iUPD', 'iSD', 'iUPD'],
    },
    {
      name: 'NLT sum meets PD against its own nadir (12 -> 18: +50%, +6 mm): new iUPD',
      sizes: [...upToReset, { ...sod(95), NEW1: 18 }],
      expected: ['iUPD', 'iSD', 'iUPD'],
    },
    {
      name: 'NLT sum +4.9 mm over its nadir: no new iUPD',
      sizes: [...upToReset, { ...sod(95), NEW1: 16.9 }],
      expected: ['iUPD', 'iSD', 'iSD'],
    },
    {
      name: 'NLT nadir moves down after the reset (12 -> 10 -> 15 is PD against 10)',
      sizes: [...upToReset, { ...sod(95), NEW1: 10 }, { ...sod(95), NEW1: 15 }],
      expected: ['iUPD', 'iSD', 'iSD', 'iUPD'],
    },
    {
      name: 'NLT gone then back at 5 mm: PD against a nadir of 0',
      sizes: [...upToReset, { ...sod(95), NEW1: 0 }, { ...sod(95), NEW1: 5 }],
      expected: ['iUPD', 'iSD', 'iSD', 'iUPD'],
    },
  ])('$name', (row) => {
    expect(run(row)).toEqual(row.expected);
  });

  /** iUPD by NLNT NEW1 (8 mm) at t1, reset at t2. */
  const nlntReset: Sizes[] = [BASE, { ...BASE, NEW1: 8 }, { ...sod(95), NEW1: 8 }];
  it.each<Row>([
    {
      name: 'NLNT unequivocal progression: new iUPD',
      sizes: [...nlntReset, sod(95)],
      qualitative: [undefined, undefined, undefined, { NEW1: 'unequivocal-progression' }],
      expected: ['iUPD', 'iSD', 'iUPD'],
    },
    {
      name: 'NLNT grows a little (8 -> 9 mm), not unequivocal: no new iUPD',
      sizes: [...nlntReset, { ...sod(95), NEW1: 9 }],
      expected: ['iUPD', 'iSD', 'iSD'],
    },
  ])('$name', (row) => {
    expect(run(row)).toEqual(row.expected);
  });

  it('a second iUPD after a reset is confirmed against its own reference', () => {
    const a = assess(
      series([...upToReset, { ...sod(95), NEW1: 12, NEW2: 5 }, { ...sod(95), NEW1: 12, NEW2: 5, NEW3: 5 }]),
    );
    expect(a.timepoints.map((t) => [t.response, t.status])).toEqual([
      ['iUPD', 'possible-pseudoprogression'],
      ['iSD', 'pseudoprogression'],
      ['iUPD', 'possible-pseudoprogression'],
      ['iCPD', 'confirmed-progression'],
    ]);
    expect(a.timepoints[2]!.step.reference).toMatchObject({ newCount: 2, triggers: ['new-lesion'] });
  });
});

describe('after iCPD every later timepoint is iCPD', () => {
  it.each<Row>([
    {
      name: 'even with complete response later',
      sizes: [BASE, UPD, sod(130), { L1: 0, L2: 0 }, { L1: 0, L2: 0 }],
      expected: ['iUPD', 'iCPD', 'iCPD', 'iCPD'],
    },
    {
      name: 'even when not evaluable later',
      sizes: [BASE, UPD, sod(130), { L1: 50 }],
      expected: ['iUPD', 'iCPD', 'iCPD'],
    },
  ])('$name', (row) => {
    expect(run(row)).toEqual(row.expected);
  });
});

describe('after an overall CR (rules.md: regrowth after CR is progression)', () => {
  const lesions = { N1: { nodal: true }, N2: { nodal: true } };
  it('iCR, a node back to 10 mm (iUPD), then back under 10 mm: reset to iCR', () => {
    expect(
      run({
        name: '',
        lesions,
        sizes: [
          { N1: 20, N2: 20 },
          { N1: 8, N2: 8 },
          { N1: 10, N2: 8 },
          { N1: 8, N2: 8 },
        ],
        expected: [],
      }),
    ).toEqual(['iCR', 'iUPD', 'iCR']);
  });

  // Scenario F after CR: nothing changed since the iUPD, so the target category still meets PD (it did so
  // only because of the CR before it).
  it('iCR, a node back to 10 mm (iUPD), unchanged at the next scan: stays iUPD', () => {
    expect(
      run({
        name: '',
        lesions,
        sizes: [
          { N1: 20, N2: 20 },
          { N1: 8, N2: 8 },
          { N1: 10, N2: 8 },
          { N1: 10, N2: 8 },
        ],
        expected: [],
      }),
    ).toEqual(['iCR', 'iUPD', 'iUPD']);
  });

  it('iCR, a node back to 10 mm (iUPD), then +5 mm: iCPD', () => {
    expect(
      run({
        name: '',
        lesions,
        sizes: [
          { N1: 20, N2: 20 },
          { N1: 8, N2: 8 },
          { N1: 10, N2: 8 },
          { N1: 15, N2: 8 },
        ],
        expected: [],
      }),
    ).toEqual(['iCR', 'iUPD', 'iCPD']);
  });
});

describe('ECOG never changes the response code', () => {
  it('a clinically unstable patient at iUPD gets the same codes', () => {
    const spec = series([BASE, UPD, BASE]);
    const withEcog = {
      ...spec,
      ecog: [
        { date: '2026-01-05', value: 0, source: 'Observation/e0' },
        { date: '2026-02-16', value: 3, source: 'Observation/e1' },
      ],
    };
    const a = assess(withEcog);
    expect(a.timepoints.map((t) => t.response)).toEqual(responses(spec));
    expect(a.timepoints[0]!.ecog.unstable).toBe(true);
  });
});

describe('irecistStep (unit)', () => {
  const target = (over: Partial<TargetEvaluation>): TargetEvaluation => ({
    response: 'SD',
    sod: 1000,
    measuredSum: 1000,
    missing: [],
    sizes: new Map(),
    reason: '',
    ...over,
  });
  const nonTarget = (
    response: NonTargetEvaluation['response'],
    states: [string, QualitativeState][] = [],
  ): NonTargetEvaluation => ({
    response,
    states: new Map(states),
    progressing: states.filter(([, s]) => s === 'unequivocal-progression').map(([id]) => id),
    increased: states.filter(([, s]) => s === 'increased').map(([id]) => id),
    notAssessed: [],
  });
  const none: NewLesionEvaluation = {
    count: 0,
    present: [],
    unreported: [],
    gone: [],
    appeared: [],
    nltIds: [],
    nltSizes: new Map(),
    nltSum: 0,
    nlntSizes: new Map(),
    nlntProgressing: [],
    nlntIncreased: [],
  };

  it('is pure: the given state is not changed', () => {
    const state = { ...INITIAL_STATE };
    const step = irecistStep(
      state,
      {
        date: '2026-02-16',
        target: target({ response: 'PD', sod: 1200 }),
        nonTarget: nonTarget('none'),
        newLesions: none,
      },
      HUMAN,
    );
    expect(step.response).toBe('iUPD');
    expect(state).toEqual(INITIAL_STATE);
    expect(step.state.pending?.sod).toBe(1200);
  });

  it('a confirmed state stays iCPD whatever comes', () => {
    const step = irecistStep(
      { confirmed: true, pseudoprogression: false },
      { date: '2026-06-01', target: target({ response: 'CR', sod: 0 }), nonTarget: nonTarget('CR'), newLesions: none },
      HUMAN,
    );
    expect(step.response).toBe('iCPD');
    expect(step.state.confirmed).toBe(true);
  });

  it.each<[string, TargetEvaluation, NonTargetEvaluation, TimepointResponse]>([
    ['CR + CR', target({ response: 'CR', sod: 0 }), nonTarget('CR'), 'iCR'],
    ['CR + non-CR/non-PD', target({ response: 'CR', sod: 0 }), nonTarget('non-CR-non-PD'), 'iPR'],
    ['PR + NE', target({ response: 'PR', sod: 600 }), nonTarget('NE'), 'iPR'],
    ['SD + none', target({}), nonTarget('none'), 'iSD'],
    ['NE + non-CR/non-PD', target({ response: 'NE', sod: undefined }), nonTarget('non-CR-non-PD'), 'NE'],
    ['none + non-CR/non-PD', target({ response: 'none', sod: undefined }), nonTarget('non-CR-non-PD'), 'iNN'],
    ['none + CR', target({ response: 'none', sod: undefined }), nonTarget('CR'), 'iCR'],
    ['none + NE', target({ response: 'none', sod: undefined }), nonTarget('NE'), 'NE'],
    [
      'none + PD',
      target({ response: 'none', sod: undefined }),
      nonTarget('PD', [['NT1', 'unequivocal-progression']]),
      'iUPD',
    ],
  ])('no iUPD pending: %s -> %s', (_name, t, nt, response) => {
    expect(
      irecistStep(INITIAL_STATE, { date: '2026-02-16', target: t, nonTarget: nt, newLesions: none }, HUMAN).response,
    ).toBe(response);
  });
});
