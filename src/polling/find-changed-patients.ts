/**
 * Polling / catch-up: which patients have input changes since an instant.
 * Searches `_lastUpdated=gt{since}` on every input resource type, with `_elements` trimmed to what locates the
 * patient, following paging. https://hl7.org/fhir/R4/search.html#lastUpdated, .../search.html#elements
 *
 * Not seen by this search: deletions (a `_lastUpdated` search does not return deleted resources; the
 * Subscriptions deliver them).
 */
import type { MedplumClient } from '@medplum/core';
import type { Identifier, Meta, Reference, ResourceType } from '@medplum/fhirtypes';
import { searchPages } from '../fhir/search-pages.ts';
import { badRequest } from '../fhir-model/outcomes.ts';
import { isAdapterWritten, patientIdFromReference } from '../fhir-model/resource-owner.ts';
import { observationCodeParam } from '../fhir-model/watched-inputs.ts';

export interface ChangedResource {
  /** `Type/id` */
  ref: string;
  lastUpdated: string;
  patientId?: string;
}

export interface ChangedPatients {
  /** Distinct patient ids, in first-seen order. */
  patientIds: string[];
  /** The greatest `meta.lastUpdated` seen (server clock); `since` when nothing was found. */
  newest: string;
  /** Every input resource seen (adapter-written and excluded ones left out), for de-duplication by the poller. */
  resources: ChangedResource[];
}

export interface FindChangedOptions {
  /** `_count` per page. Default 200. */
  pageSize?: number;
  /** Stop after this many pages per resource type. Default 10 000. */
  maxPages?: number;
  /** `Type/id|lastUpdated` keys already handled (the poller's overlap window): not reported again. */
  exclude?: ReadonlySet<string>;
  /** More Observation codes to watch (as for the Subscriptions). */
  extraObservationCodes?: readonly { system: string; code: string }[];
  /**
   * Keep in `resources` only those within this many ms of `newest` (bounded memory on a first full scan).
   * Default: keep all.
   */
  resourcesWindowMs?: number;
  /** Search only these input types (those whose search lists `_lastUpdated`); default all of them. */
  types?: readonly string[];
}

const PRUNE_AT = 5_000;

/** Minimal view of a searched resource, after `_elements`. */
interface Slim {
  resourceType: ResourceType;
  id?: string;
  meta?: Meta;
  identifier?: Identifier[];
  subject?: Reference;
  patient?: Reference;
}

interface Target {
  resourceType: ResourceType;
  elements: string;
  patientRef: (r: Slim) => Reference | undefined;
  extra?: (o: FindChangedOptions) => Record<string, string>;
}

const TARGETS: readonly Target[] = [
  {
    resourceType: 'Observation',
    elements: 'subject,identifier,meta',
    patientRef: (r) => r.subject,
    extra: (o) => ({ code: observationCodeParam(o.extraObservationCodes) }),
  },
  // The adapter writes only Observations among these types; the others need no identifier (less data moved).
  { resourceType: 'ImagingStudy', elements: 'subject,meta', patientRef: (r) => r.subject },
  { resourceType: 'MedicationAdministration', elements: 'subject,meta', patientRef: (r) => r.subject },
  { resourceType: 'BodyStructure', elements: 'patient,meta', patientRef: (r) => r.patient },
  { resourceType: 'Patient', elements: 'meta', patientRef: (r) => ({ reference: `Patient/${r.id}` }) },
];

const toMillis = (instant: string): number => Date.parse(instant);

function assertInstant(value: string, name: string): void {
  if (Number.isNaN(toMillis(value))) throw badRequest('Expected an instant', [name]);
}

/**
 * The patients whose inputs changed after `since` (and at or before `until`, when given).
 * Observations count only for the watched codes; resources the adapter wrote are ignored.
 */
export async function findChangedPatients(
  client: MedplumClient,
  since: string,
  until?: string,
  options: FindChangedOptions = {},
): Promise<ChangedPatients> {
  assertInstant(since, 'since');
  if (until) assertInstant(until, 'until');
  const patientIds: string[] = [];
  const seenPatients = new Set<string>();
  const resources: ChangedResource[] = [];
  let newest = since;

  const targets = options.types ? TARGETS.filter((t) => options.types?.includes(t.resourceType)) : TARGETS;
  for (const target of targets) {
    const query = new URLSearchParams();
    query.append('_lastUpdated', `gt${since}`);
    if (until) query.append('_lastUpdated', `le${until}`);
    for (const [k, v] of Object.entries(target.extra?.(options) ?? {})) query.append(k, v);
    query.append('_elements', target.elements);
    query.append('_sort', '_lastUpdated');
    query.append('_count', String(options.pageSize ?? 200));

    for await (const page of searchPages(client, target.resourceType, query, { maxPages: options.maxPages })) {
      for (const r of page as Slim[]) {
        if (!r.id || r.resourceType !== target.resourceType) continue;
        const lastUpdated = r.meta?.lastUpdated;
        if (lastUpdated && toMillis(lastUpdated) > toMillis(newest)) newest = lastUpdated;
        if (isAdapterWritten(r)) continue;
        const ref = `${r.resourceType}/${r.id}`;
        if (lastUpdated && options.exclude?.has(`${ref}|${lastUpdated}`)) continue;
        const patientId = patientIdFromReference(target.patientRef(r));
        resources.push({ ref, lastUpdated: lastUpdated ?? '', patientId });
        if (options.resourcesWindowMs !== undefined && resources.length > PRUNE_AT) {
          pruneOutside(resources, toMillis(newest) - options.resourcesWindowMs);
        }
        if (patientId && !seenPatients.has(patientId)) {
          seenPatients.add(patientId);
          patientIds.push(patientId);
        }
      }
    }
  }
  if (options.resourcesWindowMs !== undefined) pruneOutside(resources, toMillis(newest) - options.resourcesWindowMs);
  return { patientIds, newest, resources };
}

/** Drops, in place, the entries last updated before `from`. */
function pruneOutside(resources: ChangedResource[], from: number): void {
  let kept = 0;
  for (const r of resources) if (toMillis(r.lastUpdated) >= from) resources[kept++] = r;
  resources.length = kept;
}
