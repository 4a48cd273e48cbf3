/** Lengths (contract section 1: "Units mm or cm (UCUM)"), read into integer tenths of a millimetre. */
import type { Quantity } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { SYSTEM } from '../../src/codes.ts';
import { readLength } from '../../src/mapping/read-length.ts';

const ucum = (value: unknown, code: string): Quantity => ({ value: value as number, system: SYSTEM.ucum, code });

describe('readLength', () => {
  it.each<[string, Quantity, number]>([
    ['14.5 mm', ucum(14.5, 'mm'), 145],
    ['1.45 cm', ucum(1.45, 'cm'), 145],
    ['10.1 mm (no floating-point drift)', ucum(10.1, 'mm'), 101],
    ['0.3 cm', ucum(0.3, 'cm'), 30],
    ['0 mm', ucum(0, 'mm'), 0],
    ['12 cm', ucum(12, 'cm'), 1200],
    ['UCUM code without a system', { value: 2.5, code: 'cm' }, 250],
    ['unit word only: "mm"', { value: 7, unit: 'mm' }, 70],
    ['unit word only: "centimetres"', { value: 1.45, unit: 'centimetres' }, 145],
    ['unit word only: " Millimeters "', { value: 9, unit: ' Millimeters ' }, 90],
    ['more precision than a tenth is rounded: 14.56 mm', ucum(14.56, 'mm'), 146],
  ])('%s -> %i tenths', (_name, q, tenths) => {
    expect(readLength(q)).toEqual({ ok: true, tenths, lessThan: false });
  });

  it.each<[string, Quantity | undefined, string]>([
    ['no quantity', undefined, 'no-value'],
    ['no value', { unit: 'mm', system: SYSTEM.ucum, code: 'mm' }, 'no-value'],
    ['a string value "18"', ucum('18', 'mm'), 'not-a-number'],
    ['a boolean value', ucum(true, 'mm'), 'not-a-number'],
    ['an overflowing value (1e400 parses as Infinity)', ucum(JSON.parse('1e400'), 'mm'), 'not-a-number'],
    ['no unit at all', { value: 18 }, 'missing-unit'],
    ['inches ([in_i])', ucum(0.7, '[in_i]'), 'unknown-unit'],
    ['metres (m)', ucum(0.02, 'm'), 'unknown-unit'],
    ['mm in another code system', { value: 18, system: 'http://example.org/units', code: 'mm' }, 'unknown-unit'],
    ['unit word "inch"', { value: 1, unit: 'inch' }, 'unknown-unit'],
    ['a negative length', ucum(-3, 'mm'), 'out-of-range'],
    ['beyond a kilometre', ucum(2e6, 'mm'), 'out-of-range'],
  ])('%s -> %s', (_name, q, problem) => {
    expect(readLength(q)).toMatchObject({ ok: false, problem });
  });

  it.each<[Quantity['comparator'], boolean]>([
    ['<', true],
    ['<=', true],
    ['>', false],
    ['>=', false],
    [undefined, false],
  ])('comparator %s -> lessThan %s', (comparator, lessThan) => {
    expect(readLength({ ...ucum(5, 'mm'), comparator })).toEqual({ ok: true, tenths: 50, lessThan });
  });
});
