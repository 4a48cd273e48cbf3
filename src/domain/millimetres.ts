/** Exact millimetre arithmetic: lengths are integer tenths of a millimetre (rules.md, Timeline). */
import type { Tenths } from './types.ts';

/**
 * Converts a decimal length to integer tenths of a millimetre without floating-point drift:
 * 10.1 mm -> 101, 1.45 cm -> 145. Returns undefined for non-finite or negative values, or values with
 * more precision than a tenth of a millimetre (those are rounded half away from zero).
 */
export function toTenths(value: number, unit: 'mm' | 'cm'): Tenths | undefined {
  // Beyond a kilometre is not a tumour; it also keeps toFixed() out of exponent notation.
  if (!Number.isFinite(value) || value < 0 || value > 1e6) return undefined;
  const scale = unit === 'cm' ? 100 : 10;
  // Most lengths are a whole number of tenths already (10.1 mm -> 101.00000000000001): then the decimal route below
  // gives the nearest integer too, without its string and BigInt work.
  const near = Math.round(value * scale);
  if (Math.abs(value * scale - near) < 1e-6) return near;
  // Work from the decimal text so 10.1 * 10 does not become 100.99999.
  const [intPart, fracPart = ''] = value.toFixed(6).split('.');
  const digits = `${intPart}${fracPart}`;
  const scaled = (BigInt(digits) * BigInt(scale) + 500000n) / 1000000n;
  if (scaled > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  return Number(scaled);
}

/** 123 -> "12.3 mm" */
export function formatMm(t: Tenths): string {
  const sign = t < 0 ? '-' : '';
  const a = Math.abs(t);
  return `${sign}${Math.floor(a / 10)}.${a % 10} mm`;
}

/** Percentage change from `from` to `to`, to one decimal (display only; decisions use integer comparisons). */
export function percentChange(from: Tenths, to: Tenths): number | undefined {
  if (from === 0) return undefined;
  return Math.round(((to - from) * 1000) / from) / 10;
}

export const sum = (values: readonly Tenths[]): Tenths => values.reduce((a, b) => a + b, 0);
