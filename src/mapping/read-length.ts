/** A FHIR Quantity -> integer tenths of a millimetre. Units: UCUM mm or cm; anything else is refused. */
import type { Quantity } from '@medplum/fhirtypes';
import { SYSTEM } from '../codes.ts';
import { toTenths } from '../domain/millimetres.ts';
import type { Tenths } from '../domain/types.ts';
import { isObject } from './fhir-helpers.ts';

export type LengthResult =
  | { ok: true; tenths: Tenths; lessThan: boolean }
  | {
      ok: false;
      problem: 'no-value' | 'not-a-number' | 'missing-unit' | 'unknown-unit' | 'out-of-range';
      text: string;
    };

const UNIT_WORDS: Record<string, 'mm' | 'cm'> = {
  mm: 'mm',
  millimeter: 'mm',
  millimeters: 'mm',
  millimetre: 'mm',
  millimetres: 'mm',
  cm: 'cm',
  centimeter: 'cm',
  centimeters: 'cm',
  centimetre: 'cm',
  centimetres: 'cm',
};

function unitOf(q: Quantity): 'mm' | 'cm' | undefined | null {
  if (typeof q.code === 'string' && (q.system === undefined || q.system === SYSTEM.ucum)) {
    return q.code === 'mm' || q.code === 'cm' ? q.code : null;
  }
  if (typeof q.unit === 'string') return UNIT_WORDS[q.unit.trim().toLowerCase()] ?? null;
  return q.code === undefined ? undefined : null;
}

export function readLength(q: Quantity | undefined): LengthResult {
  if (!isObject(q) || q.value === undefined || q.value === null)
    return { ok: false, problem: 'no-value', text: 'no value' };
  if (typeof q.value !== 'number' || !Number.isFinite(q.value)) {
    return { ok: false, problem: 'not-a-number', text: 'the value is not a number' };
  }
  const unit = unitOf(q);
  if (unit === undefined) return { ok: false, problem: 'missing-unit', text: 'the value has no unit' };
  if (unit === null) return { ok: false, problem: 'unknown-unit', text: 'the unit is not mm or cm (UCUM)' };
  const tenths = toTenths(q.value, unit);
  if (tenths === undefined)
    return { ok: false, problem: 'out-of-range', text: 'the value is negative or implausibly large' };
  return { ok: true, tenths, lessThan: q.comparator === '<' || q.comparator === '<=' };
}
