import { describe, expect, it } from 'vitest';
import {
  isOligoprogression,
  OLIGOPROGRESSION_MAX_LESIONS,
  progressingLesions,
  resistanceAt,
} from '../../src/domain/interpretation.ts';
import type { TimepointResponse } from '../../src/domain/types.ts';
import { assess, series } from './builders.ts';

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

describe('oligoprogression (at most 3 progressing lesions)', () => {
  it.each<[string[], boolean]>([
    [[], false],
    [['a'], true],
    [['a', 'b', 'c'], true],
    [['a', 'b', 'c', 'd'], false],
  ])('%j -> %s', (lesions, oligo) => {
    expect(isOligoprogression(lesions)).toBe(oligo);
  });

  it('the limit is 3', () => {
    expect(OLIGOPROGRESSION_MAX_LESIONS).toBe(3);
  });

  it('progressing lesions: grown targets, progressing non-targets, present new lesions; sorted, no duplicates', () => {
    expect(
      progressingLesions({
        targetSizes: new Map([
          ['T1', 300],
          ['T2', 200],
          ['T3', 100],
        ]),
        targetSizesAtNadir: new Map([
          ['T1', 250],
          ['T2', 200],
          ['T3', 120],
        ]),
        nonTargetProgressing: ['NT2', 'NT1'],
        newLesionsPresent: ['NEW1', 'NT1'],
      }),
    ).toEqual(['NEW1', 'NT1', 'NT2', 'T1']);
  });

  it('a target with no size at the nadir scan is not counted as grown', () => {
    expect(
      progressingLesions({
        targetSizes: new Map([['T1', 300]]),
        targetSizesAtNadir: new Map(),
        nonTargetProgressing: [],
        newLesionsPresent: [],
      }),
    ).toEqual([]);
  });
});

describe('through assessPatient', () => {
  it('a single growing target: oligoprogression, primary resistance at iCPD', () => {
    const a = assess(
      series([
        { L1: 50, L2: 50, L3: 50 },
        { L1: 80, L2: 50, L3: 50 },
        { L1: 90, L2: 50, L3: 50 },
      ]),
    );
    expect(a.timepoints.map((t) => [t.response, t.progressingLesions, t.oligoprogression, t.resistance])).toEqual([
      ['iUPD', ['L1'], true, undefined],
      ['iCPD', ['L1'], true, 'primary'],
    ]);
  });

  it('growth measured against the nadir scan; four lesions is not oligoprogression', () => {
    const a = assess(
      series([
        { L1: 50, L2: 50 },
        { L1: 30, L2: 30 },
        { L1: 40, L2: 40, NEW1: 10, NEW2: 10 },
        { L1: 45, L2: 40, NEW1: 10, NEW2: 10 },
      ]),
    );
    expect(a.timepoints.map((t) => [t.response, t.progressingLesions, t.oligoprogression, t.resistance])).toEqual([
      ['iPR', undefined, undefined, undefined],
      ['iUPD', ['L1', 'L2', 'NEW1', 'NEW2'], false, undefined],
      ['iCPD', ['L1', 'L2', 'NEW1', 'NEW2'], false, 'acquired'],
    ]);
  });
});
