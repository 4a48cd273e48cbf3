/** Plain-word names of the codes the adapter writes (also the CodeSystem displays). */
import type { PatientStatus, TimepointResponse } from '../domain/types.ts';

export const RESPONSE_DISPLAY: Record<TimepointResponse, string> = {
  iCR: 'immune complete response (iCR)',
  iPR: 'immune partial response (iPR)',
  iSD: 'immune stable disease (iSD)',
  iNN: 'non-iCR/non-iUPD (iNN)',
  iUPD: 'unconfirmed progression (iUPD)',
  iCPD: 'confirmed progression (iCPD)',
  NE: 'not evaluable (NE)',
};

export const STATUS_DISPLAY: Record<PatientStatus, string> = {
  responding: 'Responding',
  stable: 'Stable',
  'not-evaluable': 'Not evaluable',
  'possible-pseudoprogression': 'Possible pseudoprogression',
  pseudoprogression: 'Pseudoprogression',
  'confirmed-progression': 'Confirmed progression',
  hyperprogression: 'Hyperprogression',
};

export const CATEGORY_DISPLAY: Record<string, string> = {
  CR: 'complete response',
  PR: 'partial response',
  SD: 'stable disease',
  PD: 'progression',
  'non-CR-non-PD': 'non-CR/non-PD',
  increased: 'increase, not unequivocal progression',
  NE: 'not evaluable',
  none: 'none',
};

/**
 * The non-target category in words. An `increased` lesion is shown as an increase (rules.md, "Non-target"), never as
 * non-CR/non-PD, though RECIST 1.1 does not count it as progression by itself.
 */
export function nonTargetDisplay(nt: { response: string; increased: readonly string[] }): string {
  return CATEGORY_DISPLAY[nonTargetCategory(nt)] ?? nt.response;
}

/** The non-target category as written: `increased` when a lesion increased short of unequivocal progression. */
export function nonTargetCategory(nt: { response: string; increased: readonly string[] }): string {
  return nt.response !== 'PD' && nt.increased.length > 0 ? 'increased' : nt.response;
}
