import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addDays, daysBetween } from '../../src/domain/dates.ts';

describe('daysBetween', () => {
  it.each<[string, string, number]>([
    ['2026-01-01', '2026-01-01', 0],
    ['2026-01-01', '2026-01-29', 28],
    ['2026-01-31', '2026-02-01', 1],
    ['2024-02-28', '2024-03-01', 2], // leap year
    ['2023-02-28', '2023-03-01', 1],
    ['2024-02-29', '2024-03-01', 1],
    ['2023-12-31', '2024-01-01', 1],
    ['2024-01-01', '2025-01-01', 366],
    ['2025-01-01', '2026-01-01', 365],
    ['2000-02-28', '2000-03-01', 2], // 2000 is a leap year
    ['1900-02-28', '1900-03-01', 1], // 1900 is not
    ['2026-03-29', '2026-03-30', 1], // European DST change: still one day
    ['2026-11-01', '2026-11-02', 1], // US DST change
    ['2026-03-01', '2026-01-01', -59],
    ['2026-01-05', '2026-03-02', 56],
  ])('%s -> %s = %d days', (a, b, days) => {
    expect(daysBetween(a, b)).toBe(days);
  });
});

describe('addDays', () => {
  it.each<[string, number, string]>([
    ['2024-02-28', 1, '2024-02-29'],
    ['2023-02-28', 1, '2023-03-01'],
    ['2024-03-01', -1, '2024-02-29'],
    ['2025-12-31', 1, '2026-01-01'],
    ['2026-01-05', 28, '2026-02-02'],
    ['2026-01-05', 56, '2026-03-02'],
    ['2026-01-05', 0, '2026-01-05'],
    ['2026-01-05', 365, '2027-01-05'],
  ])('%s + %d = %s', (d, n, out) => {
    expect(addDays(d, n)).toBe(out);
  });

  it('property: daysBetween(d, addDays(d, n)) === n', () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date('1950-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true }),
        fc.integer({ min: -20_000, max: 20_000 }),
        (date, n) => {
          const d = date.toISOString().slice(0, 10);
          expect(daysBetween(d, addDays(d, n))).toBe(n);
          expect(addDays(addDays(d, n), -n)).toBe(d);
        },
      ),
    );
  });
});
