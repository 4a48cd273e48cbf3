/**
 * Finds the patient behind a notification that named only a resource (id-only payloads, deletes): reads the
 * resource, or for a deleted one its history, and returns the patient id to assess.
 */
import type { MedplumClient } from '@medplum/core';
import type { ResourceType } from '@medplum/fhirtypes';
import { patientIdOf } from '../fhir-model/resource-owner.ts';

function isGone(err: unknown): boolean {
  const status = (err as { status?: number }).status;
  return status === 404 || status === 410;
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
      return patientIdOf(await client.readResource(type, id));
    } catch (err) {
      if (!isGone(err)) throw err;
    }
  }
  // Deleted (or gone since): an earlier version in the history still names the patient. No history either (404/410:
  // never there, or purged): nothing to find, so the caller drops the job instead of dead-lettering it (#12 item 9).
  let history: Awaited<ReturnType<MedplumClient['readHistory']>>;
  try {
    history = await client.readHistory(type, id);
  } catch (err) {
    if (isGone(err)) return undefined;
    throw err;
  }
  for (const entry of history.entry ?? []) {
    const found = entry.resource ? patientIdOf(entry.resource) : undefined;
    if (found) return found;
  }
  return undefined;
}
