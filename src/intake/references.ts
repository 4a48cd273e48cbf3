/**
 * FHIR id and reference syntax, checked before any id or type from a notification is used in a job or a URL.
 * https://hl7.org/fhir/R4/datatypes.html#id and https://hl7.org/fhir/R4/references.html#literal
 */
import { isKnownResourceType, type KnownResourceType } from './resource-types.ts';

const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;
const ONLY_DOTS = /^\.+$/;

/** True for a FHIR id (`[A-Za-z0-9\-\.]{1,64}`); ids made only of dots are refused (they are path segments). */
export function isFhirId(value: string): boolean {
  return FHIR_ID.test(value) && !ONLY_DOTS.test(value);
}

export interface ResourceKey {
  resourceType: KnownResourceType;
  id: string;
}

/**
 * What a reference string names:
 * - `literal`: `Type/id`, `Type/id/_history/v` or an absolute URL ending so, with a known type and a valid id;
 * - `other`: a form that names nothing we can look up here (`urn:uuid:`, `#contained`, conditional `Type?query`, a bare type);
 * - `invalid`: shaped like `Type/id` with a capitalised type, but the type is unknown or the id is not a FHIR id.
 */
export type ParsedReference = { kind: 'literal'; key: ResourceKey } | { kind: 'other' } | { kind: 'invalid' };

const HISTORY = /\/_history\/[^/]*$/;
const TYPE_LIKE = /^[A-Z][A-Za-z]+$/;

export function parseReference(reference: string): ParsedReference {
  if (reference.startsWith('#') || /^urn:/i.test(reference) || /[?#]/.test(reference)) return { kind: 'other' };
  const segments = reference.replace(HISTORY, '').split('/');
  if (segments.length < 2) return { kind: 'other' };
  const type = segments[segments.length - 2] as string;
  const id = segments[segments.length - 1] as string;
  if (!TYPE_LIKE.test(type)) return { kind: 'other' };
  if (!isKnownResourceType(type) || !isFhirId(id)) return { kind: 'invalid' };
  return { kind: 'literal', key: { resourceType: type, id } };
}
