/**
 * Finds the patients behind a notification that named a resource: its current subject (read), and the subjects its
 * earlier versions were about (its `_history`): a measurement filed against the wrong patient and moved has both
 * the patient it now belongs to and the one it left reassessed (issue #11 item 3). Deletes: the history names them.
 * https://hl7.org/fhir/R4/http.html#history
 */
import type { MedplumClient } from '@medplum/core';
import type { Resource, ResourceType } from '@medplum/fhirtypes';
import { patientIdOf } from '../fhir-model/resource-owner.ts';

const isGone = (err: unknown): boolean => [404, 410].includes((err as { status?: number }).status ?? 0);

/** Distinct patients named by the resource's versions, newest first; [] where the server keeps or shows no history. */
async function historySubjects(client: MedplumClient, type: ResourceType, id: string): Promise<string[]> {
  const history = await client.readHistory(type, id);
  const found = (history.entry ?? []).flatMap((e) => {
    const patientId = e.resource ? patientIdOf(e.resource as Resource) : undefined;
    return patientId ? [patientId] : [];
  });
  return [...new Set(found)];
}

/**
 * The patients to assess for a resource.
 * @param client - The FHIR client.
 * @param resourceType - The resource's type.
 * @param id - Its id.
 * @param deleted - It was deleted (only its history names a patient).
 * @param earlierOnly - Only the patients it was about before (its current subject is assessed by a job of its own).
 * @returns The patient ids: the current subject first, then earlier ones.
 */
export async function resolvePatientsOf(
  client: MedplumClient,
  resourceType: string,
  id: string,
  deleted: boolean,
  earlierOnly = false,
): Promise<string[]> {
  const type = resourceType as ResourceType;
  let current: string | undefined;
  if (!deleted) {
    try {
      current = patientIdOf(await client.readResource(type, id, { cache: 'no-cache' }));
    } catch (err) {
      if (!isGone(err)) throw err;
    }
  }
  let earlier: string[];
  try {
    earlier = (await historySubjects(client, type, id)).filter((p) => p !== current);
  } catch (err) {
    // A server without history (or refusing it): the current subject is all there is to go on.
    if (current === undefined && !isGone(err)) throw err;
    earlier = [];
  }
  if (earlierOnly) return earlier;
  return current ? [current, ...earlier] : earlier;
}

/**
 * The patient behind a resource (its current subject, or for a deleted one the newest version that names one).
 * @returns The patient id, or undefined.
 */
export async function resolvePatientOf(
  client: MedplumClient,
  resourceType: string,
  id: string,
  deleted: boolean,
): Promise<string | undefined> {
  return (await resolvePatientsOf(client, resourceType, id, deleted))[0];
}
