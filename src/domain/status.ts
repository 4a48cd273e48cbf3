/**
 * Patient status as of a timepoint, and which statuses are flagged in the chart (contract section 2;
 * rules.md, "Patient status and evidence").
 */
import type { IrecistState } from './irecist.ts';
import type { PatientStatus, TimepointResponse } from './types.ts';

export function patientStatus(
  response: TimepointResponse,
  state: IrecistState,
  hyperprogression: boolean,
): PatientStatus {
  if (state.confirmed) return 'confirmed-progression';
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
