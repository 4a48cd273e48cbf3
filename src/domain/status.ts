/**
 * Patient status as of a timepoint, and which statuses are flagged in the chart (contract section 2;
 * rules.md, "Patient status and evidence").
 */
import type { IrecistState } from './irecist.ts';
import type { PatientStatus, TimepointResponse } from './types.ts';

/**
 * The patient status as of a timepoint. Hyperprogression, once found, stays the status through a later iCPD until a
 * reset (rules.md, "Hyperprogression"); `hyperprogression` says whether it was found and not reset since.
 */
export function patientStatus(
  response: TimepointResponse,
  state: IrecistState,
  hyperprogression: boolean,
): PatientStatus {
  if (state.confirmed) return hyperprogression ? 'hyperprogression' : 'confirmed-progression';
  if (state.pending) return hyperprogression ? 'hyperprogression' : 'possible-pseudoprogression';
  if (state.pseudoprogression) return 'pseudoprogression';
  switch (response) {
    case 'iCR':
    case 'iPR':
      return 'responding';
    case 'iSD':
    case 'iNN':
      return 'stable';
    default:
      return 'not-evaluable';
  }
}

export type FlagPriority = 'low' | 'medium' | 'high';

/** Statuses that get a chart Flag, with the Flag's priority; undefined = no Flag. */
export function flagPriority(status: PatientStatus): FlagPriority | undefined {
  switch (status) {
    case 'possible-pseudoprogression':
      return 'medium';
    case 'pseudoprogression':
      return 'low';
    case 'confirmed-progression':
    case 'hyperprogression':
      return 'high';
    default:
      return undefined;
  }
}
