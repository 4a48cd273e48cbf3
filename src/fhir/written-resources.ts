/**
 * What the adapter wrote for a patient and where it stands now: the patient's resources of every type the adapter
 * writes, searched by patient (one batch where the server has batch), kept when they carry the adapter's identifier;
 * and the ledger of what the adapter wrote before (a resource gone from the server since was deleted by someone, and
 * is not written again). The worker makes these searches inside its context read (read-context-and-earlier.ts);
 * readWrittenResources makes them on their own where that read did not (a backfill's exported context, or a search
 * of the context read that failed). https://hl7.org/fhir/R4/search.html
 */
import type { MedplumClient } from '@medplum/core';
import type { Bundle, Resource, ResourceType } from '@medplum/fhirtypes';
import { fhirBaseUrlOf } from './client-factory.ts';
import { getInBatch } from './get-batch.ts';
import { errorForStatus, FhirRequestError } from './http-error.ts';
import { adapterKey } from './ownership.ts';
import { noCache, searchAll } from './search-pages.ts';
import { WRITTEN_TYPES, type WritePlan, type WrittenType } from './write-plan.ts';

/** A durable key/value store (the service's state store); JSON values. */
export interface KeyValueStore {
  get(key: string): Promise<unknown | undefined>;
  /** Adds strings to the array at `key` atomically (the queue's StateStore does it in one statement). */
  addToSet(key: string, values: readonly string[]): Promise<void>;
}

/** What the adapter wrote per patient: `Type|identifier value`. */
export interface WriteLedger {
  wrote(patientId: string): Promise<Set<string>>;
  record(patientId: string, keys: readonly string[]): Promise<void>;
}

/**
 * The ledger in a key/value store, one key per patient (`written:<patient id>`).
 * @param store - The store.
 * @returns The ledger.
 */
export function ledgerIn(store: KeyValueStore): WriteLedger {
  const keyOf = (patientId: string) => `written:${patientId}`;
  const read = async (patientId: string) => {
    const value = await store.get(keyOf(patientId));
    return new Set(Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []);
  };
  return {
    wrote: read,
    // One atomic statement, no read: a backfill beside the service adding to the same patient loses nothing.
    record: (patientId, keys) => store.addToSet(keyOf(patientId), keys),
  };
}

/** A ledger in memory (tests, the CLI). */
export function memoryLedger(): WriteLedger {
  const sets = new Map<string, Set<string>>();
  return ledgerIn({
    get: async (k) => (sets.has(k) ? [...(sets.get(k) as Set<string>)].sort() : undefined),
    addToSet: async (k, values) => {
      const set = sets.get(k) ?? new Set<string>();
      for (const v of values) set.add(v);
      sets.set(k, set);
    },
  });
}

/** Batch answers meaning "no batch here" (read-patient-context.ts falls back on the same). */
const NO_BATCH = new Set([400, 403, 404, 405, 415, 422, 501]);

/** One search for the adapter's earlier results: a written type the plan can search by patient, and the parameter. */
export interface WrittenSearch {
  type: WrittenType;
  param: 'subject' | 'patient';
}

/**
 * The searches that find the adapter's earlier results: every written type the plan can search by patient, except
 * Provenance (never updated nor retracted).
 * @param plan - The write plan.
 * @returns The searches, in WRITTEN_TYPES order.
 */
export function writtenSearches(plan: WritePlan): WrittenSearch[] {
  return WRITTEN_TYPES.flatMap((type) => {
    const param = plan.types[type].patientSearch;
    return param && type !== 'Provenance' ? [{ type, param }] : [];
  });
}

/**
 * The adapter's resources for a patient, as the server holds them now: one batch of searches where the server has
 * batch (one round trip), else the searches side by side.
 * @param client - The FHIR client.
 * @param patientId - The patient id.
 * @param plan - The write plan (which types can be searched, and by which parameter).
 * @param batch - Whether the server lists batch.
 * @returns Every resource of a written type that carries the adapter's identifier.
 */
export async function readWrittenResources(
  client: MedplumClient,
  patientId: string,
  plan: WritePlan,
  batch = false,
): Promise<Resource[]> {
  const searches = writtenSearches(plan);
  const urls = searches.map(
    ({ type, param }) => `${type}?${param}=${encodeURIComponent(`Patient/${patientId}`)}&_count=1000`,
  );
  let found: Resource[] | undefined;
  if (batch && urls.length > 1) {
    try {
      found = await searchInBatch(client, urls);
    } catch (err) {
      if (!(err instanceof FhirRequestError && NO_BATCH.has(err.status))) throw err;
    }
  }
  found ??= (
    await Promise.all(
      searches.map(({ type, param }) =>
        searchAll(client, type as ResourceType, { [param]: `Patient/${patientId}`, _count: '1000' }),
      ),
    )
  ).flat();
  const types = new Set<string>(searches.map((s) => s.type));
  return found.filter((r) => types.has(r.resourceType) && adapterKey(r) !== undefined);
}

async function searchInBatch(client: MedplumClient, urls: string[]): Promise<Resource[]> {
  const base = fhirBaseUrlOf(client);
  const entries = await getInBatch(client, base, urls);
  const out: Resource[] = [];
  for (const entry of entries) {
    const status = Number.parseInt(entry.response?.status ?? '', 10) || 200;
    let page = entry.resource as Bundle | undefined;
    if (status >= 400 || page?.resourceType !== 'Bundle') {
      throw errorForStatus(status >= 400 ? status : 502, { serverOutcome: entry.response?.outcome });
    }
    const seen = new Set<string>();
    while (page) {
      out.push(
        ...(page.entry ?? [])
          .filter((e) => e.resource && e.search?.mode !== 'include')
          .map((e) => e.resource as Resource),
      );
      const next: string | undefined = page.link?.find((l) => l.relation === 'next')?.url;
      if (!next || seen.has(next)) break;
      seen.add(next);
      page = await client.get<Bundle>(URL.canParse(next) ? next : new URL(next, `${base}/`).toString(), noCache());
    }
  }
  return out;
}
