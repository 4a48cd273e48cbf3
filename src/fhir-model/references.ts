/**
 * The FHIR literal reference rule, defined once: what `Type/id`, `Type/id/_history/v` or an absolute URL ending so
 * names, checked before any id or type from outside is used in a job or a URL.
 * https://hl7.org/fhir/R4/references.html#literal
 */
import { isFhirId } from './ids.ts';
import { isKnownResourceType, type KnownResourceType } from './resource-types.ts';

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

/**
 * The type and id a reference is shaped as, by syntax alone (the type is not looked up).
 * @param reference - The reference string.
 * @returns `{ type, id }` (id checked), `invalid` when shaped `Type/x` with x not an id, `other` for any other form.
 */
export function referenceParts(reference: string): { type: string; id: string } | 'invalid' | 'other' {
  if (reference.startsWith('#') || /^urn:/i.test(reference) || /[?#]/.test(reference)) return 'other';
  const segments = reference.replace(HISTORY, '').split('/');
  if (segments.length < 2) return 'other';
  const type = segments[segments.length - 2] as string;
  const id = segments[segments.length - 1] as string;
  if (!TYPE_LIKE.test(type)) return 'other';
  return isFhirId(id) ? { type, id } : 'invalid';
}

/**
 * Parses a reference string (see ParsedReference).
 * @param reference - The reference string.
 * @returns What it names.
 */
export function parseReference(reference: string): ParsedReference {
  const parts = referenceParts(reference);
  if (parts === 'other') return { kind: 'other' };
  if (parts === 'invalid' || !isKnownResourceType(parts.type)) return { kind: 'invalid' };
  return { kind: 'literal', key: { resourceType: parts.type, id: parts.id } };
}
