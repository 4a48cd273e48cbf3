import { describe, expect, it } from 'vitest';
import {
  OLIGOPROGRESSION_MAX_LESIONS,
  type ProgressionPattern,
  progressionShape,
  resistanceAt,
} from '../../src/domain/interpretation.ts';
import type { LesionCourse } from '../../src/domain/lesion-course.ts';
import type { TimepointResponse } from '../../src/domain/types.ts';
import { assess, type ScanSpec, series } from './builders.ts';

describe('resistance at iCPD', () => {
  it.each<[TimepointResponse[], 'primary' | 'acquired']>([
    [[], 'primary'],
    [['iUPD'], 'primary'],
    [['iSD', 'iUPD'], 'primary'],
    [['iNN', 'NE', 'iUPD', 'iSD', 'iUPD'], 'primary'],
    [['iPR', 'iUPD'], 'acquired'],
    [['iCR', 'iUPD'], 'acquired'],
    [['iUPD', 'iPR', 'iUPD'], 'acquired'],
  ])('%j before iCPD -> %s', (previous, resistance) => {
    expect(resistanceAt(previous)).toBe(resistance);
  });
});

const row = (id: string, over: Partial<LesionCourse>): LesionCourse => ({
  id,
  role: 'target',
  nodal: false,
  assessed: true,
  progressing: false,
  growing: false,
  ...over,
});
const P = { progressing: true, growing: true };
const G = { growing: true };
const OUT = { assessed: false };

describe('progressionShape (rules.md: oligoprogression vs widespread progression)', () => {
  it.each<[string, LesionCourse[], string[], ProgressionPattern | undefined]>([
    [
      'one progressing, the others stable: oligoprogression',
      [row('a', P), row('b', {}), row('c', {})],
      ['a'],
      'oligoprogression',
    ],
    [
      'three progressing, one stable: oligoprogression',
      [row('a', P), row('b', P), row('c', P), row('d', {})],
      ['a', 'b', 'c'],
      'oligoprogression',
    ],
    [
      'four progressing: widespread',
      [row('a', P), row('b', P), row('c', P), row('d', P), row('e', {})],
      ['a', 'b', 'c', 'd'],
      'widespread',
    ],
    [
      'one progressing, every other assessed lesion growing: widespread',
      [row('a', P), row('b', G), row('c', G)],
      ['a'],
      'widespread',
    ],
    [
      'one progressing, no other lesion assessed: widespread',
      [row('a', P), row('b', OUT), row('c', OUT)],
      ['a'],
      'widespread',
    ],
    [
      'one progressing, one growing, one stable: oligoprogression',
      [row('a', P), row('b', G), row('c', {})],
      ['a'],
      'oligoprogression',
    ],
    [
      'nothing progressing by itself, one lesion not growing: no pattern named',
      [row('a', G), row('b', {})],
      [],
      undefined,
    ],
    ['nothing progressing by itself, everything growing: widespread', [row('a', G), row('b', G)], [], 'widespread'],
    [
      'a lesion not assessed is neither growing nor stable',
      [row('a', P), row('b', OUT), row('c', {})],
      ['a'],
      'oligoprogression',
    ],
  ])('%s', (_name, lesions, progressing, pattern) => {
    expect(progressionShape(lesions)).toEqual({ progressing, pattern });
  });

  it('the limit is 3', () => {
    expect(OLIGOPROGRESSION_MAX_LESIONS).toBe(3);
  });
});

describe('through assessPatient (rules.md: a lesion progresses at >= 20% and >= 5 mm over its own nadir)', () => {
  type Row = [
    string,
    ScanSpec['sizes'][],
    (ScanSpec['qualitative'] | undefined)[],
    [string, string[] | undefined, string | undefined][],
  ];
  it.each<Row>([
    [
      'a single growing target, the others stable: oligoprogression, then primary resistance at iCPD',
      [
        { L1: 50, L2: 50, L3: 50 },
        { L1: 80, L2: 50, L3: 50 },
        { L1: 90, L2: 50, L3: 50 },
      ],
      [],
      [
        ['iUPD', ['L1'], 'oligoprogression'],
        ['iCPD', ['L1'], 'oligoprogression'],
      ],
    ],
    [
      'all disease growing (each target against its own nadir): widespread',
      [
        { L1: 50, L2: 50, L3: 50 },
        { L1: 80, L2: 52, L3: 53 },
      ],
      [],
      [['iUPD', ['L1'], 'widespread']],
    ],
    [
      "growth against each lesion's own nadir; two new lesions and two targets at once: widespread",
      [
        { L1: 50, L2: 50 },
        { L1: 30, L2: 30 },
        { L1: 40, L2: 40, NEW1: 10, NEW2: 10 },
        { L1: 45, L2: 40, NEW1: 10, NEW2: 10 },
      ],
      [],
      [
        ['iPR', undefined, undefined],
        ['iUPD', ['L1', 'L2', 'NEW1', 'NEW2'], 'widespread'],
        // The new lesions are no longer appearing and did not grow: two progressing targets beside stable disease.
        ['iCPD', ['L1', 'L2'], 'oligoprogression'],
      ],
    ],
    [
      'a non-target in unequivocal progression with shrinking targets: oligoprogression',
      [
        { L1: 50, L2: 50 },
        { L1: 40, L2: 40 },
      ],
      [
        { NT1: 'present', NT2: 'present' },
        { NT1: 'unequivocal-progression', NT2: 'present' },
      ],
      [['iUPD', ['NT1'], 'oligoprogression']],
    ],
    [
      'an increased non-target counts as growing: a progressing target beside it and nothing else is widespread',
      [{ L1: 50 }, { L1: 80 }],
      [{ NT1: 'present' }, { NT1: 'increased' }],
      [['iUPD', ['L1'], 'widespread']],
    ],
    [
      'a new lesion appearing beside stable disease: oligoprogression',
      [
        { L1: 50, L2: 50 },
        { L1: 50, L2: 50, NEW1: 12 },
      ],
      [],
      [['iUPD', ['NEW1'], 'oligoprogression']],
    ],
    [
      'a sum at progression with no lesion +5 mm by itself and one lesion unchanged: no pattern named',
      [
        { L1: 10, L2: 10, L3: 10, L4: 10, L5: 10 },
        { L1: 12.5, L2: 12.5, L3: 12.5, L4: 12.5, L5: 10 },
      ],
      [],
      [['iUPD', [], undefined]],
    ],
  ])('%s', (_name, sizes, qualitative, expected) => {
    const lesions = Object.fromEntries(
      Object.keys(sizes[0] ?? {}).map((id) => [id, { role: 'target' as const, organ: id }]),
    );
    const a = assess(series(sizes, { qualitative, lesions }));
    expect(a.timepoints.map((t) => [t.response, t.progressingLesions, t.progressionPattern])).toEqual(expected);
  });

  it('resistance at the first iCPD', () => {
    const a = assess(
      series([
        { L1: 50, L2: 50, L3: 50 },
        { L1: 80, L2: 50, L3: 50 },
        { L1: 90, L2: 50, L3: 50 },
      ]),
    );
    expect(a.timepoints.map((t) => t.resistance)).toEqual([undefined, 'primary']);
  });
});
