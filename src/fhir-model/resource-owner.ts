/**
 * Whose data a resource is, and whether the adapter wrote it: asked by intake's worker, polling, mapping and
 * backfill alike. Total on malformed input (never throws).
 */
import type { Reference, Resource } from '@medplum/fhirtypes';
import { BASE } from '../codes.ts';
import { isObject } from './json.ts';
import { referenceParts } from './references.ts';

/** The reference to the patient a resource is about: a Patient itself, else `subject`, else `patient`. */
export function patientReferenceOf(r: Resource): Reference | undefined {
  if (r.resourceType === 'Patient') return r.id ? { reference: `Patient/${r.id}` } : undefined;
  const { subject, patient } = r as { subject?: unknown; patient?: unknown };
  const ref = subject ?? patient;
  return isObject(ref) ? (ref as Reference) : undefined;
}

/** `x` from `Patient/x`, `Patient/x/_history/2` or `https://server/fhir/Patient/x` (x a FHIR id); else undefined. */
export function patientIdFromReference(ref: Reference | undefined): string | undefined {
  const value = isObject(ref) && typeof ref.reference === 'string' ? ref.reference : undefined;
  const parts = value === undefined ? undefined : referenceParts(value);
  return typeof parts === 'object' && parts.type === 'Patient' ? parts.id : undefined;
}

/** The id of the patient a resource is about, when it names one by a literal reference. */
export const patientIdOf = (r: Resource): string | undefined => patientIdFromReference(patientReferenceOf(r));

/**
 * Resources the adapter writes carry its identifier, tag or profile (all under BASE): changes to them must not
 * wake the adapter up again, and they are not inputs of an assessment.
 */
export function isAdapterWritten(r: object): boolean {
  const underBase = (s: unknown): boolean => typeof s === 'string' && (s === BASE || s.startsWith(`${BASE}/`));
  const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
  const { meta: m, identifier } = r as { meta?: unknown; identifier?: unknown };
  const meta = isObject(m) ? m : {};
  return (
    list(identifier).some((i) => isObject(i) && underBase(i.system)) ||
    list(meta.tag).some((t) => isObject(t) && underBase(t.system)) ||
    list(meta.profile).some(underBase)
  );
}
