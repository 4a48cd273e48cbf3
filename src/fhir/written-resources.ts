/**
 * What the adapter wrote for a patient and where it stands now: the patient's resources of every type the adapter
 * writes, searched by patient (one batch where the server has batch), kept when they carry the adapter's identifier;
 * and the ledger of what the adapter wrote before (a resource gone from the server since was deleted by someone, and
 * is not written again). https://hl7.org/fhir/R4/search.html
 */
import type { MedplumClient } from '@medplum/core';
import type { Resource, ResourceType } from '@medplum/fhirtypes';
import { adapterKey } from './ownership.ts';
import { searchAll } from './search-pages.ts';
import { WRITTEN_TYPES, type WritePlan } from './write-plan.ts';

/** A durable key/value store (the service's state store); JSON values. */
export interface KeyValueStore {
  get(key: string): Promise<unknown | undefined>;
  set(key: string, value: unknown): Promise<void>;
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
    async record(patientId, keys) {
      if (keys.length === 0) return;
      const known = await read(patientId);
      const before = known.size;
      for (const k of keys) known.add(k);
      if (known.size !== before) await store.set(keyOf(patientId), [...known].sort());
    },
  };
}

/** A ledger in memory (tests, the CLI). */
export function memoryLedger(): WriteLedger {
  return ledgerIn(
    ((m = new Map<string, unknown>()) => ({
      get: async (k: string) => m.get(k),
      set: async (k: string, v: unknown) => void m.set(k, v),
    }))(),
  );
}

/**
 * The adapter's resources for a patient, as the server holds them now.
 * @param client - The FHIR client.
 * @param patientId - The patient id.
 * @param plan - The write plan (which types can be searched, and by which parameter).
 * @returns Every resource of a written type that carries the adapter's identifier.
 */
export async function readWrittenResources(
  client: MedplumClient,
  patientId: string,
  plan: WritePlan,
): Promise<Resource[]> {
  const found: Resource[] = [];
  for (const type of WRITTEN_TYPES) {
    const param = plan.types[type].patientSearch;
    if (!param || type === 'Provenance') continue;
    const query = { [param]: `Patient/${patientId}`, _count: '1000' };
    const resources = await searchAll(client, type as ResourceType, query);
    found.push(...resources.filter((r) => r.resourceType === type && adapterKey(r) !== undefined));
  }
  return found;
}
