/**
 * The resources a patient-view call supplies in `prefetch`, checked against the templates: a key is satisfied by a
 * Patient (or null: the client has none), or by a complete searchset Bundle (an OperationOutcome, or a Bundle with a
 * `next` page, leaves the key unsatisfied: the service then reads the data itself rather than assess half of it).
 * https://cds-hooks.hl7.org/2.0/#prefetch-template
 */
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { badRequest } from '../fhir-model/outcomes.ts';
import { PREFETCH } from './patient-view-service.ts';

export interface PrefetchResult {
  /** The resources of every satisfied key (the Patient first). */
  resources: Resource[];
  /** Keys absent or not usable. */
  missing: string[];
  /** True when the client says it has no such Patient (prefetch.patient = null). */
  noPatient: boolean;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Reads the prefetch of a patient-view request.
 * @param prefetch - The request's `prefetch` object (may be undefined).
 * @param patientId - `context.patientId`.
 * @returns The resources supplied and the keys the service must read itself.
 * @throws OutcomeError 400 when a value is not what its template returns (another patient, not a Bundle).
 */
export function prefetchResources(prefetch: Record<string, unknown> | undefined, patientId: string): PrefetchResult {
  const resources: Resource[] = [];
  const missing: string[] = [];
  let noPatient = false;
  for (const template of PREFETCH) {
    if (!prefetch || !Object.hasOwn(prefetch, template.key)) {
      missing.push(template.key);
      continue;
    }
    const value = prefetch[template.key];
    if (value === null) {
      if (template.read) noPatient = true;
      continue;
    }
    if (!isObject(value)) throw badRequest('A prefetch value is not a FHIR resource', [`prefetch.${template.key}`]);
    if (value.resourceType === 'OperationOutcome') {
      missing.push(template.key);
      continue;
    }
    if (template.read) {
      if (value.resourceType !== template.resourceType || value.id !== patientId) {
        throw badRequest("The prefetched Patient is not the context's patient", [`prefetch.${template.key}`]);
      }
      resources.unshift(value as unknown as Resource);
      continue;
    }
    if (value.resourceType !== 'Bundle') {
      throw badRequest('A prefetched search is not a Bundle', [`prefetch.${template.key}`]);
    }
    const bundle = value as unknown as Bundle;
    if (bundle.link?.some((l) => l.relation === 'next')) {
      missing.push(template.key);
      continue;
    }
    for (const entry of bundle.entry ?? []) {
      const r = entry.resource;
      if (r && r.resourceType !== 'OperationOutcome' && entry.search?.mode !== 'outcome') resources.push(r);
    }
  }
  return { resources, missing, noPatient };
}
