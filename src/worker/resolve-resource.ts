/**
 * Finds the patient behind a notification that named only a resource (id-only payloads, deletes): reads the
 * resource, or for a deleted one its history, and returns the patient id to assess.
 */
import type { MedplumClient } from '@medplum/core';
import type { ResourceType } from '@medplum/fhirtypes';
import { patientIdOf } from '../fhir-model/resource-owner.ts';

export async function resolvePatientOf(
  client: MedplumClient,
  resourceType: string,
  id: string,
  deleted: boolean,
): Promise<string | undefined> {
  const type = resourceType as ResourceType;
  if (!deleted) {
    try {
      return patientIdOf(await client.readResource(type, id));
    } catch (err) {
      const status = (err as { status?: number }).status;
      if (status !== 404 && status !== 410) throw err;
    }
  }
  // Deleted (or gone since): an earlier version in the history still names the patient.
  const history = await client.readHistory(type, id);
  for (const entry of history.entry ?? []) {
    const found = entry.resource ? patientIdOf(entry.resource) : undefined;
    if (found) return found;
  }
  return undefined;
}
