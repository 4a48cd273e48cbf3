/**
 * Resources and references named by a notification -> the jobs they imply: a Patient is assessed directly; a
 * resource about a patient assesses that patient; anything else of an input type is resolved by the worker.
 */
import { badRequest } from '../fhir-model/outcomes.ts';
import { parseReference, type ResourceKey } from '../fhir-model/references.ts';
import { isAdapterWritten } from '../fhir-model/resource-owner.ts';
import { isKnownResourceType } from '../fhir-model/resource-types.ts';
import { INPUT_RESOURCE_TYPES } from '../fhir-model/watched-inputs.ts';
import type { JobIntent } from './jobs.ts';
import { ERROR_TEXT } from './notification-model.ts';
import type { ParsedEntry, ParsedResource } from './notification-schemas.ts';

export function keyString(key: ResourceKey): string {
  return `${key.resourceType}/${key.id}`;
}

/** A reference alone: a Patient is assessed directly, any other input type is resolved by the worker. */
export function jobsForReference(key: ResourceKey, deleted: boolean): JobIntent[] {
  if (!INPUT_RESOURCE_TYPES.has(key.resourceType)) return [];
  if (key.resourceType === 'Patient' && !deleted) return [{ kind: 'assess-patient', patientId: key.id }];
  return [{ kind: 'resolve-resource', resourceType: key.resourceType, id: key.id, deleted }];
}

/**
 * A full resource: its Patient (itself, or its subject/patient reference) is assessed. When the patient reference is
 * missing or not a literal reference (urn:uuid, contained), the worker resolves the resource by type and id instead.
 */
export function jobsForResource(
  resource: ParsedResource,
  fallback: ResourceKey | undefined,
  deleted: boolean,
): JobIntent[] {
  // The adapter's own writes must not trigger a reassessment.
  if (isAdapterWritten(resource) || !INPUT_RESOURCE_TYPES.has(resource.resourceType)) return [];
  const key: ResourceKey | undefined =
    resource.id !== undefined && isKnownResourceType(resource.resourceType)
      ? { resourceType: resource.resourceType, id: resource.id }
      : fallback;
  if (resource.resourceType === 'Patient') return key ? jobsForReference(key, deleted) : [];
  const patientRef =
    resource.resourceType === 'BodyStructure' ? resource.patient : 'subject' in resource ? resource.subject : undefined;
  const target = patientRef?.target;
  if (target?.resourceType === 'Patient') return [{ kind: 'assess-patient', patientId: target.id }];
  if (target) return []; // subject is a Group, Device, Location...: not a patient's data
  return key ? [{ kind: 'resolve-resource', resourceType: key.resourceType, id: key.id, deleted }] : [];
}

/** The resource an entry names: fullUrl, else request.url. Shaped-but-invalid ids are refused with their path. */
function entryKey(entry: ParsedEntry, index: number): ResourceKey | undefined {
  for (const [field, value] of [
    ['fullUrl', entry.fullUrl],
    ['request.url', entry.request?.url],
  ] as const) {
    if (value === undefined) continue;
    const parsed = parseReference(value);
    if (parsed.kind === 'literal') return parsed.key;
    if (parsed.kind === 'invalid') throw badRequest(ERROR_TEXT.reference, [`entry.${index}.${field}`]);
  }
  return undefined;
}

/** Jobs for Bundle entries (from `offset` on, for the path in errors); `covered` = resources already handled. */
export function entryJobs(
  entries: readonly ParsedEntry[],
  offset: number,
): { jobs: JobIntent[]; covered: Set<string>; named: boolean } {
  const jobs: JobIntent[] = [];
  const covered = new Set<string>();
  let named = false;
  entries.forEach((entry, i) => {
    const urlKey = entryKey(entry, i + offset);
    const deleted = entry.request?.method === 'DELETE';
    if (entry.resource) {
      named = true;
      jobs.push(...jobsForResource(entry.resource, urlKey, deleted));
      const id = entry.resource.id ?? urlKey?.id;
      if (id !== undefined) covered.add(`${entry.resource.resourceType}/${id}`);
    } else if (urlKey) {
      named = true;
      jobs.push(...jobsForReference(urlKey, deleted));
      covered.add(keyString(urlKey));
    }
  });
  return { jobs, covered, named };
}
