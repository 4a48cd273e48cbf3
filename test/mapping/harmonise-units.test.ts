/**
 * rules.md, ctDNA: values are converted through UCUM to one unit per series (% and the fraction `1` are the same
 * quantity); a value that cannot be converted is listed as not used, and no trend is ever computed across
 * incompatible units. The same holds for tumour markers and LDH.
 */
import { describe, expect, it } from 'vitest';
import { SYSTEM } from '../../src/codes.ts';
import type { LabValue } from '../../src/domain/types.ts';
import { harmoniseSeries } from '../../src/mapping/harmonise-units.ts';
import { convertUnit } from '../../src/mapping/ucum.ts';
import { bodyStructure, ctdna, mapResources, marker, patient } from './builders.ts';

const lab = (date: string, value: number, unit?: string): LabValue => ({
  date,
  value,
  ...(unit !== undefined ? { unit } : {}),
  source: `Observation/${date}`,
});

describe('convertUnit (UCUM)', () => {
  it.each<[number, string, string, number | undefined]>([
    [0.032, '1', '%', 3.2],
    [3.2, '%', '1', 0.032],
    [150, 'U/L', 'ukat/L', 2.5],
    [2.5, 'ukat/L', 'U/L', 150],
    [5, 'ng/mL', 'ug/L', 5],
    [30, 'kU/L', 'U/mL', 30],
    [0.021, '1', '%', 2.1],
    [1, '[IU]/mL', 'U/mL', undefined],
    [1, 'mg/dL', 'U/L', undefined],
    [1, 'not a unit', '%', undefined],
    [20, 'Cel', '[degF]', undefined],
  ])('%s %s -> %s = %s', (value, from, to, expected) => {
    expect(convertUnit(value, from, to)).toBe(expected);
  });
});

describe('harmoniseSeries', () => {
  it('ctDNA in % and in 1 is one series in %: 3.2 % then 0.032 (= 3.2 %) is no fall', () => {
    const r = harmoniseSeries('ctDNA', [lab('2026-01-05', 3.2, '%'), lab('2026-03-09', 0.032, '1')], '%');
    expect(r.values.map((v) => [v.value, v.unit])).toEqual([
      [3.2, '%'],
      [3.2, '%'],
    ]);
    expect(r.issues).toEqual([]);
  });

  it('LDH in U/L and ukat/L: converted to the unit of the most recent value', () => {
    const r = harmoniseSeries('LDH', [lab('2026-01-05', 300, 'U/L'), lab('2026-03-09', 4, 'ukat/L')]);
    expect(r.values.map((v) => [v.value, v.unit])).toEqual([
      [5, 'ukat/L'],
      [4, 'ukat/L'],
    ]);
  });

  it('one stray unit does not push the rest out: the largest group that converts sets the unit', () => {
    const r = harmoniseSeries('PSA', [
      lab('2026-01-05', 4, 'ng/mL'),
      lab('2026-02-05', 5, 'ug/L'),
      lab('2026-03-09', 1, 'U/mL'),
    ]);
    expect(r.values.map((v) => [v.value, v.unit])).toEqual([
      [4, 'ug/L'],
      [5, 'ug/L'],
    ]);
    expect(r.issues.map((i) => i.source)).toEqual(['Observation/2026-03-09']);
  });

  it('a value that cannot be converted is left out and listed', () => {
    const r = harmoniseSeries('CA-125', [lab('2026-01-05', 35, '[IU]/mL'), lab('2026-03-09', 40, 'U/mL')]);
    expect(r.values.map((v) => v.value)).toEqual([40]);
    expect(r.issues).toEqual([
      {
        code: 'lab-unit-not-convertible',
        text: 'CA-125: a result in [IU]/mL cannot be converted to U/mL (UCUM); it was not used.',
        source: 'Observation/2026-01-05',
      },
    ]);
  });

  it('a value without a unit beside values with one is left out and listed', () => {
    const r = harmoniseSeries('ctDNA', [lab('2026-01-05', 3.2), lab('2026-03-09', 1.1, '%')], '%');
    expect(r.values.map((v) => v.value)).toEqual([1.1]);
    expect(r.issues.map((i) => i.code)).toEqual(['lab-unit-missing']);
  });

  it('a series with no units at all is kept as it is (one unknown unit)', () => {
    const r = harmoniseSeries('CEA', [lab('2026-01-05', 3), lab('2026-03-09', 4)]);
    expect(r.values.map((v) => v.value)).toEqual([3, 4]);
    expect(r.issues).toEqual([]);
  });

  it('the same non-UCUM unit text throughout is kept as it is', () => {
    const r = harmoniseSeries('CEA', [lab('2026-01-05', 3, 'ng per ml'), lab('2026-03-09', 4, 'ng per ml')]);
    expect(r.values.map((v) => [v.value, v.unit])).toEqual([
      [3, 'ng per ml'],
      [4, 'ng per ml'],
    ]);
  });
});

describe('through mapToDomain', () => {
  it('ctDNA in two units is one series; an unconvertible LDH value is not a used input and is listed', () => {
    const m = mapResources([
      patient(),
      bodyStructure('L1'),
      ctdna('c1', '2026-01-05', 3.2),
      ctdna('c2', '2026-03-09', 0.032, '1'),
      marker('ldh1', '2026-01-05', '2532-0', { value: 300, unit: 'U/L', system: SYSTEM.ucum, code: 'U/L' }),
      marker('ldh2', '2026-03-09', '2532-0', { value: 5, unit: 'ukat/L', system: SYSTEM.ucum, code: 'ukat/L' }),
      marker('ldh3', '2026-04-09', '2532-0', { value: 2, unit: 'mg/dL', system: SYSTEM.ucum, code: 'mg/dL' }),
    ]);
    expect(m.record.ctdna.map((v) => [v.value, v.unit])).toEqual([
      [3.2, '%'],
      [3.2, '%'],
    ]);
    // The most recent LDH (mg/dL) is not an enzyme activity: the two that convert to each other set the unit.
    expect(m.record.markers).toEqual([
      {
        name: 'LDH',
        values: [
          expect.objectContaining({ value: 5, unit: 'ukat/L' }),
          expect.objectContaining({ value: 5, unit: 'ukat/L' }),
        ],
      },
    ]);
    expect(m.record.issues.map((i) => [i.code, i.source, i.text])).toEqual([
      [
        'lab-unit-not-convertible',
        'Observation/ldh3',
        'LDH: a result in mg/dL cannot be converted to ukat/L (UCUM); it was not used.',
      ],
    ]);
    expect(m.usedSources).toEqual(['Observation/c1', 'Observation/c2', 'Observation/ldh1', 'Observation/ldh2']);
  });
});
