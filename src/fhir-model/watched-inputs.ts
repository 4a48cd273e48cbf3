/**
 * What the adapter reads from a FHIR server (contract section 1): the input resource types and the Observation codes
 * it watches. Intake (which notifications queue work), the Subscriptions' criteria and the catch-up poller's searches
 * all ask here.
 */
import type { Coding } from '@medplum/fhirtypes';
import { INPUT, SYSTEM, TUMOR_MARKERS } from '../codes.ts';

/** Resource types the adapter reads (contract section 1); notifications about anything else queue nothing. */
export const INPUT_RESOURCE_TYPES: ReadonlySet<string> = new Set([
  'Patient',
  'Observation',
  'ImagingStudy',
  'MedicationAdministration',
  'BodyStructure',
  'DiagnosticReport',
]);

/** Every Observation code the adapter reads (contract section 1), as `system|code` tokens. */
export function watchedObservationCodes(extra: readonly { system: string; code: string }[] = []): Coding[] {
  const codes: Coding[] = [
    INPUT.tumorSize,
    INPUT.ecog,
    ...Object.keys(TUMOR_MARKERS).map((code) => ({ system: SYSTEM.loinc, code })),
    INPUT.nonTargetStatus,
    INPUT.ctdnaTumorFraction,
    ...extra,
  ].map((c) => ({ system: c.system, code: c.code }));
  const seen = new Set<string>();
  return codes.filter((c) => {
    const token = `${c.system}|${c.code}`;
    if (seen.has(token)) return false;
    seen.add(token);
    return true;
  });
}

/** `system|code,system|code,...` (token OR list) for search and criteria strings. */
export function observationCodeParam(extra?: readonly { system: string; code: string }[]): string {
  return watchedObservationCodes(extra)
    .map((c) => `${c.system}|${c.code}`)
    .join(',');
}
