import { describe, expect, it } from 'vitest';
import { HUMAN } from '../../src/domain/criteria-profile.ts';
import { classifyNewLesions, evaluateNewLesions } from '../../src/domain/new-lesions.ts';
import { type LesionSpec, lesion, type ScanSpec, scan } from './builders.ts';

function setup(lesions: Record<string, LesionSpec>, scans: ScanSpec[]) {
  const ls = Object.entries(lesions).map(([id, s]) => lesion(id, s));
  const byId = new Map(ls.map((l) => [l.id, l] as const));
  const built = scans.map((s) => scan(s, byId));
  const classes = classifyNewLesions(ls, built, HUMAN);
  return { classes, built, ids: (xs: { id: string }[]) => xs.map((l) => l.id) };
}

describe('classifyNewLesions: NLT (measurable at first sight, max 5, 2 per organ) and NLNT', () => {
  it.each<[string, Record<string, LesionSpec>, ScanSpec[], string[], string[]]>([
    [
      'measurable at first sight: NLT; smaller or qualitative: NLNT',
      { A: {}, B: {}, C: {} },
      [{ date: '2026-02-16', sizes: { A: 10, B: 9.9 }, qualitative: { C: 'present' } }],
      ['A'],
      ['B', 'C'],
    ],
    [
      'nodes need 15 mm short axis',
      { N1: { nodal: true }, N2: { nodal: true } },
      [{ date: '2026-02-16', sizes: { N1: 15, N2: 14.9 } }],
      ['N1'],
      ['N2'],
    ],
    [
      'at most 2 per organ, largest first',
      { A: { organ: 'liver' }, B: { organ: 'liver' }, C: { organ: 'liver' } },
      [{ date: '2026-02-16', sizes: { A: 12, B: 30, C: 20 } }],
      ['B', 'C'],
      ['A'],
    ],
    [
      'at most 5 in all',
      { A: {}, B: {}, C: {}, D: {}, E: {}, F: {} },
      [{ date: '2026-02-16', sizes: { A: 11, B: 12, C: 13, D: 14, E: 15, F: 16 } }],
      ['F', 'E', 'D', 'C', 'B'],
      ['A'],
    ],
    [
      'a later, larger lesion does not displace an earlier NLT',
      { A: { organ: 'liver' }, B: { organ: 'liver' }, C: { organ: 'liver' } },
      [
        { date: '2026-02-16', sizes: { A: 12, B: 11 } },
        { date: '2026-03-30', sizes: { A: 12, B: 11, C: 50 } },
      ],
      ['A', 'B'],
      ['C'],
    ],
    [
      'classified at first sight: small then grown stays NLNT',
      { A: {} },
      [
        { date: '2026-02-16', sizes: { A: 8 } },
        { date: '2026-03-30', sizes: { A: 25 } },
      ],
      [],
      ['A'],
    ],
    [
      'a lesion reported absent is not yet seen',
      { A: {} },
      [
        { date: '2026-02-16', qualitative: { A: 'absent' } },
        { date: '2026-03-30', sizes: { A: 12 } },
      ],
      ['A'],
      [],
    ],
    ['never seen: neither', { A: {} }, [{ date: '2026-02-16', sizes: {} }], [], []],
  ])('%s', (_name, lesions, scans, nlt, nlnt) => {
    const { classes, ids } = setup(lesions, scans);
    expect(ids(classes.targets)).toEqual(nlt);
    expect(ids(classes.nonTargets).sort()).toEqual(nlnt);
  });

  it('records the first sighting date', () => {
    const { classes } = setup({ A: {}, B: {} }, [
      { date: '2026-02-16', sizes: { A: 12 } },
      { date: '2026-03-30', sizes: { A: 12, B: 4 } },
    ]);
    expect([...classes.firstSeen]).toEqual([
      ['A', '2026-02-16'],
      ['B', '2026-03-30'],
    ]);
  });
});

describe('evaluateNewLesions', () => {
  /** Four new lesions over three scans: NLT A and B, NLNT C and D; B gone at the last scan, D not reported there. */
  const evaluateFourNewLesions = () => {
    const { classes, built } = setup({ A: {}, B: {}, C: {}, D: {} }, [
      { date: '2026-02-16', sizes: { A: 12, B: 20, C: 8 } },
      { date: '2026-03-30', sizes: { A: 14, C: 9 }, qualitative: { D: 'unequivocal-progression' } },
      { date: '2026-05-11', sizes: { A: 'tstm', B: 0 }, qualitative: { C: 'increased' } },
    ]);
    return built.map((s) => evaluateNewLesions(classes, s, HUMAN));
  };

  it('count, present, NLT sum (unknown while a NLT is not reported: never an assumed size), NLNT sizes and progression', () => {
    const e = evaluateFourNewLesions();
    expect(e.map((x) => [x.count, x.present, x.nltSum, [...x.nlntSizes], x.nlntProgressing, x.nlntIncreased])).toEqual([
      [3, ['B', 'A', 'C'], 320, [['C', 80]], [], []],
      [4, ['A', 'C', 'D'], undefined, [['C', 90]], ['D'], []],
      [4, ['A', 'C'], 50, [], [], ['C']],
    ]);
  });

  it('a new lesion the scan does not report is unreported, never gone; gone only when reported absent or 0 mm', () => {
    const e = evaluateFourNewLesions();
    expect(e.map((x) => [x.appeared, x.unreported, x.gone, x.nltIds, [...x.nltSizes]])).toEqual([
      // NLT are listed largest first, as picked.
      [
        ['A', 'B', 'C'],
        [],
        [],
        ['B', 'A'],
        [
          ['B', 200],
          ['A', 120],
        ],
      ],
      [['D'], ['B'], [], ['B', 'A'], [['A', 140]]],
      [
        [],
        ['D'],
        ['B'],
        ['B', 'A'],
        [
          ['B', 0],
          ['A', 50],
        ],
      ],
    ]);
  });

  it('before any new lesion: nothing', () => {
    const { classes, built } = setup({ A: {} }, [
      { date: '2026-02-16', sizes: {} },
      { date: '2026-03-30', sizes: { A: 12 } },
    ]);
    expect(evaluateNewLesions(classes, built[0]!, HUMAN)).toEqual({
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
    });
  });
});
