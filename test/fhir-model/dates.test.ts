import { describe, expect, it } from 'vitest';
import { datePart } from '../../src/fhir-model/dates.ts';

describe('datePart', () => {
  it.each<[string | undefined, string | undefined]>([
    ['2026-01-05', '2026-01-05'],
    ['2026-01-05T23:30:00+02:00', '2026-01-05'],
    ['2026-01-05T00:00:00Z', '2026-01-05'],
    ['2026-01', undefined],
    ['2026', undefined],
    ['2026-13-01', undefined],
    ['2026-00-10', undefined],
    ['2026-01-32', undefined],
    ['not a date', undefined],
    ['', undefined],
    [undefined, undefined],
  ])('%s -> %s', (input, out) => {
    expect(datePart(input)).toBe(out);
  });
});
