/** mCODE TumorSize Observations -> measurements (contract section 1). */
import type { Observation } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { EXTENSION, SYSTEM } from '../../src/codes.ts';
import type { DataQualityIssue } from '../../src/domain/types.ts';
import { readRole, readTumorSize, type TumorSizeReading } from '../../src/mapping/read-tumor-size.ts';
import { cm, mm, tumorSize } from './builders.ts';

const read = (o: Observation) => {
  const issues: DataQualityIssue[] = [];
  return { reading: readTumorSize(o, issues), issues: issues.map((i) => i.code) };
};
const obs = (o: Partial<Parameters<typeof tumorSize>[1]>) =>
  tumorSize('o1', { lesion: 'L1', date: '2026-03-09T09:30:00Z', ...o });

describe('readTumorSize', () => {
  it.each<[string, Observation, TumorSizeReading]>([
    ['longest diameter in mm', obs({ ld: mm(14.5) }), { longestDiameter: 145 }],
    ['longest diameter 1.45 cm', obs({ ld: cm(1.45) }), { longestDiameter: 145 }],
    ['short axis of a node', obs({ ld: cm(2.2), sa: mm(16) }), { longestDiameter: 220, shortAxis: 160 }],
    [
      '"< 5 mm": too small to measure',
      obs({ ld: { ...mm(5), comparator: '<' } }),
      { longestDiameter: 50, tooSmallToMeasure: true },
    ],
    [
      '"< 0.3 cm": too small to measure',
      obs({ ld: { ...cm(0.3), comparator: '<' } }),
      { longestDiameter: 30, tooSmallToMeasure: true },
    ],
    [
      '"<= 5 mm": too small to measure',
      obs({ ld: { ...mm(5), comparator: '<=' } }),
      { longestDiameter: 50, tooSmallToMeasure: true },
    ],
  ])('%s', (_name, o, expected) => {
    const { reading, issues } = read(o);
    expect(reading).toEqual({ ...expected, role: undefined, date: '2026-03-09' });
    expect(issues).toEqual([]);
  });

  it('a size given as valueQuantity (no components) is the longest diameter', () => {
    const o = obs({});
    delete o.component;
    o.valueQuantity = mm(21);
    expect(read(o).reading?.longestDiameter).toBe(210);
  });

  it.each<[string, Observation, string[]]>([
    ['"< 8 mm" is not exact enough', obs({ ld: { ...mm(8), comparator: '<' } }), ['measurement-inexact']],
    ['non-numeric', obs({ ld: mm('twelve') }), ['measurement-not-a-number']],
    ['unknown unit', obs({ ld: { value: 1, system: SYSTEM.ucum, code: '[in_i]' } }), ['measurement-unknown-unit']],
    ['missing unit', obs({ ld: { value: 12 } }), ['measurement-missing-unit']],
    ['no component', obs({}), ['measurement-empty']],
  ])('%s -> not used, issue %j', (_name, o, codes) => {
    const { reading, issues } = read(o);
    expect(reading).toBeUndefined();
    expect(issues).toEqual(codes);
  });

  it('an unknown component is reported, the known one is used', () => {
    const o = obs({ ld: mm(30) });
    o.component!.push({ code: { coding: [{ system: SYSTEM.loinc, code: '33729-5' }] }, valueQuantity: mm(3) });
    const { reading, issues } = read(o);
    expect(reading?.longestDiameter).toBe(300);
    expect(issues).toEqual(['unknown-component']);
  });
});

describe('readRole (lesion-role extension)', () => {
  it.each<[string, unknown, string | undefined, string[]]>([
    ['target', 'target', 'target', []],
    ['non-target', 'non-target', 'non-target', []],
    ['new', 'new', 'new', []],
    ['an unknown code', 'primary', undefined, ['unknown-lesion-role']],
    ['a number', 3, undefined, ['unknown-lesion-role']],
  ])('%s', (_name, valueCode, role, codes) => {
    const o = obs({ ld: mm(10) });
    o.extension = [{ url: EXTENSION.lesionRole, valueCode: valueCode as string }];
    const issues: DataQualityIssue[] = [];
    expect(readRole(o, issues)).toBe(role);
    expect(issues.map((i) => i.code)).toEqual(codes);
  });

  it('no extension: no role, no issue', () => {
    const issues: DataQualityIssue[] = [];
    expect(readRole(obs({ ld: mm(10) }), issues)).toBeUndefined();
    expect(issues).toEqual([]);
  });
});
