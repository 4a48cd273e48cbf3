/**
 * The lesions a patient's measurements name that the patient's own BodyStructure search did not return: read one by
 * one, so that the mapping can tell a lesion of another patient (not used, said so) from one that does not exist
 * (issue #11 item 3). Usually there are none, and nothing is read.
 * https://hl7.org/fhir/R4/observation-definitions.html#Observation.focus
 */
import type { MedplumClient } from '@medplum/core';
import type { BodyStructure, Observation, Resource } from '@medplum/fhirtypes';
import { isFhirId } from '../fhir-model/ids.ts';
import { FhirRequestError } from './http-error.ts';

/** At most this many lesions are looked up per assessment (a bound on what one patient's data can cost). */
const MAX_READS = 20;
const RELATIVE = /^BodyStructure\/([^/]+)$/;

/**
 * Reads the BodyStructures named by Observation.focus and missing from `resources`.
 * @param client - The FHIR client.
 * @param resources - The patient's context as read.
 * @returns Those found (whoever they belong to); a missing or refused one is left out.
 * @throws FhirRequestError for a server error (the assessment is retried).
 */
export async function readMissingFocus(client: MedplumClient, resources: readonly Resource[]): Promise<Resource[]> {
  const have = new Set(resources.filter((r) => r.resourceType === 'BodyStructure').map((r) => r.id));
  const wanted = new Set<string>();
  for (const r of resources) {
    if (r.resourceType !== 'Observation') continue;
    for (const focus of (r as Observation).focus ?? []) {
      const id = RELATIVE.exec(focus.reference ?? '')?.[1];
      if (id && isFhirId(id) && !have.has(id)) wanted.add(id);
    }
  }
  const found = await Promise.all(
    [...wanted].slice(0, MAX_READS).map(async (id) => {
      try {
        return await client.readResource('BodyStructure', id);
      } catch (err) {
        if (err instanceof FhirRequestError && err.status < 500 && err.status !== 429) return undefined;
        throw err;
      }
    }),
  );
  return found.flatMap((r): BodyStructure[] => (r?.resourceType === 'BodyStructure' ? [r] : []));
}
