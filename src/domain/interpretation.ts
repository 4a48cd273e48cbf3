/**
 * Named patterns for the report conclusion (rules.md, last bullet): primary vs acquired resistance at iCPD,
 * and oligoprogression (progression confined to at most 3 lesions).
 */
import type { Tenths, TimepointResponse } from './types.ts';

export type Resistance = 'primary' | 'acquired';

/** Primary resistance: no iCR/iPR before iCPD. Acquired: iCPD after a response. */
export function resistanceAt(previousResponses: readonly TimepointResponse[]): Resistance {
  return previousResponses.some((r) => r === 'iCR' || r === 'iPR') ? 'acquired' : 'primary';
}

export const OLIGOPROGRESSION_MAX_LESIONS = 3;

/**
 * Lesions that progressed at a timepoint: targets larger than at the nadir scan, non-targets in unequivocal
 * progression or further increase, and new lesions present.
 */
export function progressingLesions(input: {
  targetSizes: Map<string, Tenths>;
  targetSizesAtNadir: Map<string, Tenths>;
  nonTargetProgressing: readonly string[];
  newLesionsPresent: readonly string[];
}): string[] {
  const grown = [...input.targetSizes]
    .filter(([id, size]) => size > (input.targetSizesAtNadir.get(id) ?? Number.POSITIVE_INFINITY))
    .map(([id]) => id);
  return [...new Set([...grown, ...input.nonTargetProgressing, ...input.newLesionsPresent])].sort();
}

export function isOligoprogression(lesions: readonly string[]): boolean {
  return lesions.length > 0 && lesions.length <= OLIGOPROGRESSION_MAX_LESIONS;
}
