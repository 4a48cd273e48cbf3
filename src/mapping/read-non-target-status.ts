/**
 * Observation BASE/CodeSystem/irecist#non-target-lesion-status -> the qualitative state of a lesion:
 * DICOM 112045 absent, 112046 present (non-CR/non-PD), 112047 unequivocal progression, irecist#increased.
 */
import type { Observation } from '@medplum/fhirtypes';
import { NON_TARGET_VALUE } from '../codes.ts';
import type { DataQualityIssue, QualitativeState } from '../domain/types.ts';
import { hasCoding, refOf } from './fhir-helpers.ts';

const STATES: [keyof typeof NON_TARGET_VALUE, QualitativeState][] = [
  ['absent', 'absent'],
  ['present', 'present'],
  ['unequivocalProgression', 'unequivocal-progression'],
  ['increased', 'increased'],
];

export function readNonTargetStatus(obs: Observation, issues: DataQualityIssue[]): QualitativeState | undefined {
  for (const [key, state] of STATES) {
    const { system, code } = NON_TARGET_VALUE[key];
    if (hasCoding(obs.valueCodeableConcept, system, code)) return state;
  }
  issues.push({
    code: 'unknown-non-target-value',
    text: 'A non-target lesion status has a value the adapter does not know and was not used.',
    source: refOf(obs),
  });
  return undefined;
}
