/**
 * Unit conversion through UCUM (@lhncbc/ucum-lhc, the NLM's library), for lab values: ctDNA fractions, tumour markers,
 * LDH. Synchronous; loaded on first use (a series in one unit never loads it), and each unit pair's factor is
 * computed once and cached, so a long history costs one library call per pair.
 */
import { createRequire } from 'node:module';

interface ConversionResult {
  status: string;
  toVal: number | null;
}
interface UcumUtils {
  convertUnitTo(fromUnit: string, fromValue: number, toUnit: string): ConversionResult;
}

let utils: UcumUtils | undefined;
function ucum(): UcumUtils {
  if (!utils) {
    // A CommonJS package without types: required, and given the small interface used here.
    const pkg = createRequire(import.meta.url)('@lhncbc/ucum-lhc') as { UcumLhcUtils: { getInstance(): UcumUtils } };
    utils = pkg.UcumLhcUtils.getInstance();
  }
  return utils;
}

/** Longest unit string handed to the library (real UCUM units are short; an input may be anything). */
const MAX_UNIT_LENGTH = 64;
/** Cached unit pairs; the cache starts again beyond this, so hostile input cannot grow it without end. */
const MAX_CACHED_PAIRS = 2_000;
const factors = new Map<string, number | null>();

/** The factor from `from` to `to`, or null when UCUM cannot convert between them or the conversion is not linear. */
function linearFactor(from: string, to: string): number | null {
  if (from.length > MAX_UNIT_LENGTH || to.length > MAX_UNIT_LENGTH) return null;
  try {
    const one = ucum().convertUnitTo(from, 1, to);
    const ten = ucum().convertUnitTo(from, 10, to);
    if (one.status !== 'succeeded' || ten.status !== 'succeeded') return null;
    if (typeof one.toVal !== 'number' || typeof ten.toVal !== 'number' || !Number.isFinite(one.toVal)) return null;
    // Temperatures convert with an offset: not a lab unit we compare; refused rather than converted wrongly.
    if (Math.abs(ten.toVal - 10 * one.toVal) > 1e-9 * Math.abs(ten.toVal)) return null;
    return one.toVal === 0 ? null : one.toVal;
  } catch {
    return null;
  }
}

/**
 * `value` in unit `from` expressed in unit `to` (UCUM codes), or undefined when they are not the same kind of
 * quantity. 3.2 `%` is 0.032 `1`; 150 `U/L` is 2.5 `ukat/L`. Rounded to 12 significant digits (no binary noise).
 */
export function convertUnit(value: number, from: string, to: string): number | undefined {
  if (from === to) return value;
  const key = `${from}\u0000${to}`;
  let factor = factors.get(key);
  if (factor === undefined) {
    if (factors.size >= MAX_CACHED_PAIRS) factors.clear();
    factor = linearFactor(from, to);
    factors.set(key, factor);
  }
  if (factor === null) return undefined;
  const converted = Number((value * factor).toPrecision(12));
  return Number.isFinite(converted) ? converted : undefined;
}
