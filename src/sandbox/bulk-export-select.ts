/**
 * What a sandbox Bulk Data export holds, taken as one snapshot when the job is kicked off (inside the sandbox's
 * serial queue, so never half a transaction): the current version of every resource of the asked types
 * - system level: all of them;
 * - `Patient/$export`: every Patient and every resource about a patient (`subject` or `patient`, the adapter's own
 *   rule of ownership, fhir-model/resource-owner.ts);
 * - `Group/[id]/$export`: the same for the Group's active members (`member.entity`, `member.inactive` not true);
 * at the two patient levels, a resource of an asked type that belongs to no patient (a Medication) is exported when a
 * selected resource refers to it, as the IG allows ("MAY return referenced resources").
 * `_since`: only resources whose `meta.lastUpdated` is after it.
 * https://hl7.org/fhir/uv/bulkdata/export.html#endpoint---group-of-patients
 */
import { getStatus, OperationOutcomeError } from '@medplum/core';
import type { Group, Resource } from '@medplum/fhirtypes';
import { OutcomeError, outcome } from '../fhir-model/outcomes.ts';
import { patientIdFromReference, patientIdOf } from '../fhir-model/resource-owner.ts';
import { knownResourceTypes } from '../fhir-model/resource-types.ts';
import type { ExportRequest } from './bulk-export-request.ts';
import type { SandboxRepository } from './memory-store.ts';
import { maskSecrets } from './subscription-exposure.ts';

export interface ExportSnapshot {
  /** The resources per type (read-only: the repository's frozen current versions), types in name order. */
  readonly byType: ReadonlyMap<string, readonly Resource[]>;
  readonly total: number;
  /** The manifest's `transactionTime`: nothing changed after it is in the export, everything before it is. */
  readonly transactionTime: string;
}

/**
 * Takes the snapshot of an export.
 * @param repo - The sandbox repository.
 * @param request - The kick-off request.
 * @returns The resources to write.
 * @throws OutcomeError 404/410 when the Group does not exist or was deleted.
 */
export async function selectForExport(repo: SandboxRepository, request: ExportRequest): Promise<ExportSnapshot> {
  const types = request.types.length > 0 ? [...request.types].sort() : knownResourceTypes();
  const patients = await patientsOf(repo, request);
  const changed = (r: Resource): boolean =>
    request.sinceMs === undefined || Date.parse(r.meta?.lastUpdated ?? '') > request.sinceMs;
  const owned = (r: Resource): boolean => {
    if (!patients) return true;
    const owner = r.resourceType === 'Patient' ? r.id : patientIdOf(r);
    return owner !== undefined && (patients === 'all' || patients.has(owner));
  };

  const ownerless = (r: Resource): boolean => r.resourceType !== 'Patient' && patientIdOf(r) === undefined;
  const byType = new Map<string, Resource[]>();
  const unowned: string[] = [];
  for (const type of types) {
    const current = repo.listCurrent(type as Resource['resourceType']);
    if (current.length === 0) continue;
    const selected = current.filter((r) => owned(r) && changed(r)).map(maskSecrets);
    if (selected.length > 0) byType.set(type, selected);
    if (patients && current.some(ownerless)) unowned.push(type);
  }
  if (patients) addReferenced(repo, byType, unowned, (r) => ownerless(r) && changed(r));

  let total = 0;
  let latest = Date.now();
  for (const resources of byType.values()) {
    total += resources.length;
    for (const r of resources) latest = Math.max(latest, Date.parse(r.meta?.lastUpdated ?? '') || 0);
  }
  return { byType, total, transactionTime: new Date(latest).toISOString() };
}

/** The patients of a patient-level export: 'all' (Patient/$export), the Group's members, or undefined (system). */
async function patientsOf(repo: SandboxRepository, request: ExportRequest): Promise<Set<string> | 'all' | undefined> {
  const { level } = request;
  if (level.kind === 'system') return undefined;
  if (level.kind === 'patient') return 'all';
  const group = await repo.readResource<Group>('Group', level.groupId).catch((err: unknown) => {
    const gone = err instanceof OperationOutcomeError && getStatus(err.outcome) === 410;
    throw new OutcomeError(outcome('not-found', gone ? 'Group deleted' : 'Group not found'), gone ? 410 : 404, {
      cause: err,
    });
  });
  const members = (group.member ?? []).filter((m) => m.inactive !== true).map((m) => patientIdFromReference(m.entity));
  return new Set(members.filter((id): id is string => id !== undefined));
}

/** Adds the resources of `types` that pass `include` (ownerless, changed) and a selected resource refers to. */
function addReferenced(
  repo: SandboxRepository,
  byType: Map<string, Resource[]>,
  types: readonly string[],
  include: (r: Resource) => boolean,
): void {
  if (types.length === 0) return;
  const wanted = new Set(types);
  const referenced = new Set<string>();
  for (const resources of byType.values()) {
    for (const r of resources) collectReferences(r, wanted, referenced);
  }
  for (const type of types) {
    const already = new Set((byType.get(type) ?? []).map((r) => r.id));
    const extra = repo
      .listCurrent(type as Resource['resourceType'])
      .filter((r) => !already.has(r.id) && referenced.has(`${type}/${r.id}`) && include(r));
    if (extra.length > 0) byType.set(type, [...(byType.get(type) ?? []), ...extra]);
  }
}

/** Every relative `Type/id` reference inside a resource whose type is wanted (an iterative walk). */
function collectReferences(root: unknown, wanted: ReadonlySet<string>, into: Set<string>): void {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const value = stack.pop();
    if (Array.isArray(value)) stack.push(...value);
    else if (value && typeof value === 'object') {
      for (const [key, v] of Object.entries(value)) {
        if (key === 'reference' && typeof v === 'string') {
          const [type, id] = v.split('/');
          if (type && id && wanted.has(type)) into.add(`${type}/${id}`);
        } else if (typeof v === 'object') stack.push(v);
      }
    }
  }
}
