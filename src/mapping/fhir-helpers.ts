/** Small, total helpers for reading FHIR JSON that may be malformed: they never throw. */
import type { CodeableConcept, Coding, Reference, Resource } from '@medplum/fhirtypes';

export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

export const asArray = <T>(v: T[] | T | undefined | null): T[] =>
  Array.isArray(v) ? v : v === undefined || v === null ? [] : [v];

export function codings(cc: CodeableConcept | undefined): Coding[] {
  return isObject(cc) ? asArray(cc.coding).filter(isObject) : [];
}

export function hasCoding(cc: CodeableConcept | undefined, system: string, code: string): boolean {
  // codings(cc).some(...) without its arrays: every Observation and component is asked this several times.
  if (!isObject(cc)) return false;
  const list: unknown = cc.coding;
  const matches = (c: unknown): boolean => isObject(c) && c.system === system && c.code === code;
  if (!Array.isArray(list)) return list !== undefined && list !== null && matches(list);
  for (const c of list) if (matches(c)) return true;
  return false;
}

/** "Type/id" of a resource. */
export const refOf = (r: Resource): string => `${r.resourceType}/${r.id}`;

/** The version id when it is one (a FHIR id): anything else in an input's meta.versionId would break a reference. */
function versionOf(r: Resource): string | undefined {
  const v = isObject(r.meta) ? r.meta.versionId : undefined;
  return typeof v === 'string' && /^[A-Za-z0-9\-.]{1,64}$/.test(v) ? v : undefined;
}

/** "Type/id/_history/v" when the version is known, else "Type/id" (for Provenance.entity and derivedFrom). */
export const versionedRefOf = (r: Resource): string => {
  const version = versionOf(r);
  return version ? `${refOf(r)}/_history/${version}` : refOf(r);
};

/**
 * Normalises a literal reference to "Type/id": strips a base URL and a version; keeps "#contained" and
 * "urn:uuid:…" as they are.
 */
export function normaliseReference(ref: Reference | undefined): string | undefined {
  const value = isObject(ref) && typeof ref.reference === 'string' ? ref.reference : undefined;
  if (!value) return undefined;
  if (value.startsWith('#') || value.startsWith('urn:')) return value;
  const m = /([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/.exec(value);
  return m ? `${m[1]}/${m[2]}` : undefined;
}

/** Compares two versions of one resource: positive when `a` is newer. */
export function compareVersions(a: Resource, b: Resource): number {
  const va = Number(versionOf(a));
  const vb = Number(versionOf(b));
  if (Number.isFinite(va) && Number.isFinite(vb) && va !== vb) return va - vb;
  const la = typeof a.meta?.lastUpdated === 'string' ? a.meta.lastUpdated : '';
  const lb = typeof b.meta?.lastUpdated === 'string' ? b.meta.lastUpdated : '';
  return la.localeCompare(lb);
}
