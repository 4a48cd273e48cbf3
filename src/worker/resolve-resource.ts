/**
 * Finds the patient behind a notification that named only a resource (id-only payloads, deletes): reads the
 * resource, or for a deleted one its history, and returns the patient id to assess.
 */
import type { MedplumClient } from '@medplum/core';
import type { Resource, ResourceType } from '@medplum/fhirtypes';
import { patientIdFromReference } from '../polling/find-changed-patients.ts';

function patientOf(r: Resource | undefined): string | undefined {
  if (!r) return undefined;
  if (r.resourceType === 'Patient') return r.id;
  const owner =
    (r as { subject?: { reference?: string }; patient?: { reference?: string } }).subject ??
    (r as { patient?: { reference?: string } }).patient;
  return patientIdFromReference(owner);
}

export async function resolvePatientOf(
  client: MedplumClient,
  resourceType: string,
  id: string,
  deleted: boolean,
): Promise<string | undefined> {
  const type = resourceType as ResourceType;
  if (!deleted) {
    try {
      return patientOf(await client.readResource(type, id));
    } catch (err) {
      const status = (err as { status?: number }).status;
      if (status !== 404 && status !== 410) throw err;
    }
  }
  // Deleted (or gone since): an earlier version in the history still names the patient.
  const history = await client.readHistory(type, id);
  for (const entry of history.entry ?? []) {
    const found = patientOf(entry.resource);
    if (found) return found;
  }
  return undefined;
}
