import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatMm, percentChange, sum, toTenths } from '../../src/domain/millimetres.ts';

describe('toTenths: exact integer tenths of a millimetre', () => {
  it.each<[number, 'mm' | 'cm', number]>([
    [10.1, 'mm', 101],
    [15.1, 'mm', 151],
    [1.45, 'cm', 145],
    [0.1, 'mm', 1],
    [0.3, 'mm', 3],
    [0, 'mm', 0],
    [0, 'cm', 0],
    [5, 'mm', 50],
    [1, 'cm', 100],
    [2.35, 'cm', 235],
    [4.9, 'mm', 49],
    [29.4, 'mm', 294],
    [119.9, 'mm', 1199],
    [0.07, 'cm', 7],
    [1e6, 'mm', 10_000_000],
  ])('%d %s -> %d tenths', (value, unit, tenths) => {
    expect(toTenths(value, unit)).toBe(tenths);
  });

  it('10.1 -> 15.1 mm is exactly +50 tenths (+5.0 mm), not 4.999', () => {
    expect(toTenths(15.1, 'mm')! - toTenths(10.1, 'mm')!).toBe(50);
    expect(toTenths(1.51, 'cm')! - toTenths(1.01, 'cm')!).toBe(50);
  });

  it.each<[number, 'mm' | 'cm', number]>([
    [1.15, 'cm', 115], // 1.15 * 100 = 114.99999999999999 in floating point
    [0.29, 'cm', 29], // 0.29 * 100 = 28.999999999999996
    [1.13, 'cm', 113],
    [2.9, 'mm', 29],
  ])('no floating-point drift: %d %s -> %d', (value, unit, tenths) => {
    expect(toTenths(value, unit)).toBe(tenths);
  });

  it.each<[number, 'mm' | 'cm', number]>([
    [10.15, 'mm', 102],
    [10.14, 'mm', 101],
    [10.149999, 'mm', 101],
    [0.05, 'mm', 1],
    [0.04, 'mm', 0],
    [1.234, 'cm', 123],
    [1.235, 'cm', 124],
  ])('finer than a tenth is rounded half away from zero: %d %s -> %d', (value, unit, tenths) => {
    expect(toTenths(value, unit)).toBe(tenths);
  });

  it.each<[string, number, 'mm' | 'cm']>([
    ['NaN', Number.NaN, 'mm'],
    ['+Infinity', Number.POSITIVE_INFINITY, 'mm'],
    ['-Infinity', Number.NEGATIVE_INFINITY, 'cm'],
    ['negative', -0.1, 'mm'],
    ['negative cm', -1, 'cm'],
    ['huge (over a kilometre)', 1e6 + 1, 'mm'],
    ['huge cm', 1e7, 'cm'],
    ['absurd', 1e300, 'mm'],
  ])('rejects %s', (_name, value, unit) => {
    expect(toTenths(value, unit)).toBeUndefined();
  });

  it('property: n/10 mm and n/100 cm are both exactly n tenths', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000_000 }), (n) => {
        expect(toTenths(n / 10, 'mm')).toBe(n);
        expect(toTenths(n / 100, 'cm')).toBe(n);
      }),
    );
  });

  it('property: adding 5 mm to any tenth-precision length adds exactly 50 tenths', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 100_000 }), (n) => {
        const a = n / 10;
        expect(toTenths(a + 5, 'mm')! - toTenths(a, 'mm')!).toBe(50);
      }),
    );
  });
});

describe('formatMm', () => {
  it.each<[number, string]>([
    [123, '12.3 mm'],
    [101, '10.1 mm'],
    [50, '5.0 mm'],
    [5, '0.5 mm'],
    [0, '0.0 mm'],
    [-50, '-5.0 mm'],
    [-49, '-4.9 mm'],
    [10_000, '1000.0 mm'],
  ])('%d tenths -> %s', (tenths, text) => {
    expect(formatMm(tenths)).toBe(text);
  });

  it('property: formatMm(toTenths(x)) reads back as x', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1_000_000 }), (n) => {
        expect(toTenths(Number.parseFloat(formatMm(n)), 'mm')).toBe(n);
      }),
    );
  });
});

describe('percentChange (display only)', () => {
  it.each<[number, number, number | undefined]>([
    [1000, 700, -30],
    [1000, 1200, 20],
    [1000, 1000, 0],
    [3, 1, -66.7],
    [3, 2, -33.3],
    [1650, 630, -61.8],
    [0, 100, undefined],
  ])('%d -> %d is %s%%', (from, to, pct) => {
    expect(percentChange(from, to)).toBe(pct);
  });

  it('sum adds tenths', () => {
    expect(sum([101, 50, 49])).toBe(200);
    expect(sum([])).toBe(0);
  });
});
