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
  NE: 'not evaluable',
  none: 'none',
};
