/**
 * Issue #8 section 1: every engine path that was wrong, each a row with its minimal timeline, plus the precise
 * points of rules.md they rest on (reset against the iUPD sum over the same lesions, NLT nadir since appearance, NE
 * while pending, iCR needs new lesions gone, CR holds the response, progression carried from an early scan).
 *
 * Timelines: one dose and the baseline scan on 2026-01-05, then scans `step` days apart (default 42). Sizes in mm.
 */
import { describe, expect, it } from 'vitest';
import { assess, type LesionSpec, type ResponseRow, rowResponses, type ScanSpec, series } from './builders.ts';

type Sizes = ScanSpec['sizes'];
const sod = (total: number, extra: Sizes = {}): Sizes => ({ L1: total - 50, L2: 50, ...extra });
const node = { N1: { nodal: true, role: 'target' } } satisfies Record<string, LesionSpec>;

type Row = ResponseRow;
const run = rowResponses;

describe('issue #8 section 1: the engine paths that were wrong', () => {
  it.each<Row>([
    {
      name: '1. iCR needs every new lesion gone: node 20 -> 16 + X1 (iUPD) -> 8 with X1 present is iPR',
      lesions: node,
      sizes: [{ N1: 20 }, { N1: 16, X1: 12 }, { N1: 8, X1: 12 }],
      expected: ['iUPD', 'iPR'],
    },
    {
      name: '1b. ... with X1 reported gone (0 mm) it is iCR',
      lesions: node,
      sizes: [{ N1: 20 }, { N1: 16, X1: 12 }, { N1: 8, X1: 0 }],
      expected: ['iUPD', 'iCR'],
    },
    {
      name: '1c. ... with X1 not reported it is NE (the iUPD stays pending), never iCR',
      lesions: node,
      sizes: [{ N1: 20 }, { N1: 16, X1: 12 }, { N1: 8 }],
      expected: ['iUPD', 'NE'],
    },
    {
      name: '2. a target CR holds the response: node 15 -> 9 (target CR, non-target present: iPR) -> 11 is iPR',
      lesions: node,
      sizes: [{ N1: 15 }, { N1: 9 }, { N1: 11 }],
      qualitative: [{ NT1: 'present' }, { NT1: 'present' }, { NT1: 'present' }],
      expected: ['iPR', 'iPR'],
    },
    {
      name: '2b. ... with no other disease 9 mm is an overall CR, and 11 mm after it is progression',
      lesions: node,
      sizes: [{ N1: 15 }, { N1: 9 }, { N1: 11 }],
      expected: ['iCR', 'iUPD'],
    },
    {
      name: '3. a non-target in unequivocal progression at an early scan is not forgotten: its increase confirms',
      sizes: [{ L1: 50 }, { L1: 50, X1: 12 }, { L1: 50, X1: 12 }, { L1: 45, X1: 12 }],
      qualitative: [{ NT1: 'present' }, { NT1: 'present' }, { NT1: 'unequivocal-progression' }, { NT1: 'increased' }],
      step: [42, 21, 35],
      expected: ['iUPD', 'iUPD', 'iCPD'],
    },
    {
      name: '4. scenario F after an early scan: 94 -> 86 + X1 (iUPD) -> day 25: 89 -> day 73: 86, X1 unchanged is iUPD',
      sizes: [sod(94), sod(86, { X1: 12 }), sod(89, { X1: 12 }), sod(86, { X1: 12 })],
      step: [42, 25, 48],
      expected: ['iUPD', 'iUPD', 'iUPD'],
    },
    {
      name: '5. reset compares like with like: a target unmeasured at the iUPD, the measured ones fell 128.3 -> 101.6',
      sizes: [
        { L1: 70, L2: 60, L3: 30 },
        { L1: 50, L2: 45, L3: 25 },
        { L1: 70, L2: 58.3, X1: 22.5 },
        { L1: 55, L2: 46.6, L3: 30, X1: 17.3 },
      ],
      expected: ['iSD', 'iUPD', 'iSD'],
    },
    {
      name: '6. the NLT nadir is the smallest since the lesion appeared: L1 100/100/90/90, X1 -/12/14/17',
      sizes: [{ L1: 100 }, { L1: 100, X1: 12 }, { L1: 90, X1: 14 }, { L1: 90, X1: 17 }],
      expected: ['iUPD', 'iSD', 'iUPD'],
    },
    {
      name: '7a. NE while pending: the triggering target category has a target unmeasured, nothing confirms',
      sizes: [sod(100), sod(120), { L1: 70 }],
      expected: ['iUPD', 'NE'],
    },
    {
      name: '7b. NE while pending: the progressing non-target is not assessed, nothing confirms',
      sizes: [sod(100), sod(100), sod(100)],
      qualitative: [{ NT1: 'present' }, { NT1: 'unequivocal-progression' }, {}],
      expected: ['iUPD', 'NE'],
    },
    {
      name: '8a. a new lesion not reported is not gone: 100 -> 100 + new 10 mm (iUPD) -> 100, new lesion unreported: NE',
      sizes: [{ L1: 100 }, { L1: 100, X1: 10 }, { L1: 100 }],
      expected: ['iUPD', 'NE'],
    },
    {
      name: '8b. ... target 10 -> 0 + new 10 mm (iUPD) -> 0, new lesion unreported: NE, not iCR',
      sizes: [{ L1: 10 }, { L1: 0, X1: 10 }, { L1: 0 }],
      lesions: { L1: { role: 'target' } },
      expected: ['iUPD', 'NE'],
    },
    {
      name: '8c. the nadir is set at a timepoint where every target was measured, though it was NE for a new lesion',
      sizes: [sod(100), sod(100, { X1: 12 }), sod(60), sod(72, { X1: 12 })],
      expected: ['iUPD', 'NE', 'iCPD'],
    },
    {
      name: '9a. an increased non-target is not progression by itself',
      sizes: [sod(100), sod(100)],
      qualitative: [{ NT1: 'present' }, { NT1: 'increased' }],
      expected: ['iSD'],
    },
    {
      name: '9b. ... it does not confirm an iUPD in which non-target disease took no part',
      sizes: [sod(100), sod(120), sod(120)],
      qualitative: [{ NT1: 'present' }, { NT1: 'present' }, { NT1: 'increased' }],
      expected: ['iUPD', 'iUPD'],
    },
    {
      name: '9c. ... it confirms an iUPD in which non-target disease took part',
      sizes: [sod(100), sod(100), sod(100)],
      qualitative: [{ NT1: 'present' }, { NT1: 'unequivocal-progression' }, { NT1: 'increased' }],
      expected: ['iUPD', 'iCPD'],
    },
  ])('$name', (row) => {
    expect(run(row)).toEqual(row.expected);
  });
});

describe('rules.md precise points behind them', () => {
  it.each<Row>([
    {
      name: 'reset needs the SOD below its value AT the iUPD, not the previous scan (110 at iUPD, 112 early, 111: iUPD)',
      sizes: [sod(110), sod(110, { X1: 12 }), sod(112, { X1: 12 }), sod(111, { X1: 12 })],
      step: [42, 14, 28],
      expected: ['iUPD', 'iUPD', 'iUPD'],
    },
    {
      name: 'reset once the SOD is below its value at the iUPD (110 -> 109.9)',
      sizes: [sod(110), sod(110, { X1: 12 }), sod(109.9, { X1: 12 })],
      expected: ['iUPD', 'iSD'],
    },
    {
      name: 'a non-target in unequivocal progression at any scan since the iUPD blocks the reset',
      sizes: [sod(100), sod(120), sod(120), sod(100)],
      qualitative: [{ NT1: 'present' }, { NT1: 'present' }, { NT1: 'unequivocal-progression' }, { NT1: 'present' }],
      step: [42, 14, 28],
      expected: ['iUPD', 'iUPD', 'iUPD'],
    },
    {
      name: 'PD newly met at an early scan, still met at the next eligible scan: iCPD',
      sizes: [sod(100), sod(100, { X1: 12 }), sod(100, { X1: 12 }), sod(100, { X1: 12 })],
      qualitative: [
        { NT1: 'present' },
        { NT1: 'present' },
        { NT1: 'unequivocal-progression' },
        { NT1: 'unequivocal-progression' },
      ],
      step: [42, 14, 28],
      expected: ['iUPD', 'iUPD', 'iCPD'],
    },
    {
      name: 'target PD carried from an early scan, not measurable at the next, new lesions unchanged: still iUPD',
      sizes: [sod(100), sod(100, { X1: 12 }), sod(130, { X1: 12 }), { L1: 80, X1: 12 }],
      step: [42, 14, 28],
      expected: ['iUPD', 'iUPD', 'iUPD'],
    },
    {
      name: 'target PD carried from an early scan and not measurable at the next, new lesion gone: NE',
      sizes: [sod(100), sod(100, { X1: 12 }), sod(130, { X1: 12 }), { L1: 40, X1: 0 }],
      step: [42, 14, 28],
      expected: ['iUPD', 'iUPD', 'NE'],
    },
    {
      name: 'a category still in progression makes iUPD even when another that took part cannot be evaluated',
      sizes: [sod(100), sod(100), sod(130), { L1: 80 }],
      qualitative: [
        { NT1: 'present' },
        { NT1: 'unequivocal-progression' },
        { NT1: 'present' },
        { NT1: 'unequivocal-progression' },
      ],
      step: [42, 14, 28],
      expected: ['iUPD', 'iUPD', 'iUPD'],
    },
    {
      name: 'confirmation by the measured targets alone: 51.0 -> 65.7 (iUPD) -> one target unmeasured, the others 70.8',
      sizes: [
        { L1: 11.6, L2: 22.3, L3: 17.1 },
        { L1: 11.6, L2: 31.9, L3: 22.2 },
        { L2: 51, L3: 19.8 },
      ],
      expected: ['iUPD', 'iCPD'],
    },
    {
      name: 'no confirmation from one NLT grown while another NLT is unreported: 20 + 23.3 -> 31.6 + ? is NE',
      sizes: [{ L1: 18.4 }, { L1: 18.4, X1: 20, X2: 23.3 }, { L1: 18.4, X1: 31.6 }],
      expected: ['iUPD', 'NE'],
    },
    {
      name: 'confirmation by the measured NLT alone: 20 + 23.3 -> 49 + ? is iCPD',
      sizes: [{ L1: 18.4 }, { L1: 18.4, X1: 20, X2: 23.3 }, { L1: 18.4, X1: 49 }],
      expected: ['iUPD', 'iCPD'],
    },
    {
      name: 'increases add up against the iUPD reference (+4 then +2 confirms)',
      sizes: [sod(100), sod(120), sod(124), sod(126)],
      expected: ['iUPD', 'iUPD', 'iCPD'],
    },
    {
      name: 'a scan too early to confirm stays iUPD even when a triggering category is not evaluable (our choice)',
      sizes: [sod(100), sod(120), { L1: 70 }],
      step: [42, 14],
      expected: ['iUPD', 'iUPD'],
    },
    {
      name: 'after a reset, an NLT unreported is neither progression nor gone: iPR, not iCR',
      lesions: node,
      sizes: [{ N1: 20 }, { N1: 16, X1: 12 }, { N1: 8, X1: 12 }, { N1: 8 }],
      expected: ['iUPD', 'iPR', 'iPR'],
    },
  ])('$name', (row) => {
    expect(run(row)).toEqual(row.expected);
  });

  it('non-target-only disease after a reset with a new lesion still present: iNN, not iCR', () => {
    // iUPD by a new lesion; every new lesion gone: reset (iCR). The same lesion back is no further new lesion, so no
    // new iUPD (rules.md, after a reset), and non-target-only disease with a new lesion present is iNN.
    const a = assess(
      series([{}, { X1: 8 }, { X1: 0 }, { X1: 4 }], {
        qualitative: [{ NT1: 'present' }, { NT1: 'present' }, { NT1: 'absent' }, { NT1: 'absent' }],
      }),
    );
    expect(a.timepoints.map((t) => [t.response, t.status])).toEqual([
      ['iUPD', 'possible-pseudoprogression'],
      ['iCR', 'pseudoprogression'],
      ['iNN', 'pseudoprogression'],
    ]);
  });

  it('NE while pending names what could not be evaluated, and keeps the confirmation window', () => {
    const a = assess(series([sod(100), sod(100, { X1: 12 }), sod(100)]));
    const tp = a.timepoints[1]!;
    expect([tp.response, tp.status, tp.step.notEvaluable]).toEqual([
      'NE',
      'possible-pseudoprogression',
      ['new lesion(s) X1 not reported'],
    ]);
    expect(tp.confirmationWindow).toEqual({ from: '2026-03-16', to: '2026-04-13' });
    expect(tp.issues.map((i) => i.text)).toEqual([
      'New lesion(s) not reported on 2026-03-30: X1; a lesion not reported is not taken as gone.',
    ]);
  });

  it('the target response held after CR is PR, with the reason said', () => {
    const a = assess(
      series([{ N1: 15 }, { N1: 9 }, { N1: 11 }], {
        lesions: node,
        qualitative: [{ NT1: 'present' }, { NT1: 'present' }, { NT1: 'present' }],
      }),
    );
    expect(a.timepoints.map((t) => [t.target.response, t.target.reason])).toEqual([
      ['CR', 'all non-nodal targets gone and every target node under 10 mm short axis'],
      ['PR', 'a partial or complete response, once reached, holds as at least partial response until progression'],
    ]);
  });
});
