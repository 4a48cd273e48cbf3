/**
 * The FHIR id rule, defined once: 1-64 of `A-Z a-z 0-9 - .` (https://hl7.org/fhir/R4/datatypes.html#id). Ids made
 * only of dots (`.`, `..`) are refused as well: they are path segments, and an id is put into URLs.
 */
import { z } from 'zod';

/** The pattern of an id inside a larger expression (a reference, a URL path): no anchors, no dot-only check. */
export const FHIR_ID_CHARS = '[A-Za-z0-9\\-.]{1,64}';
const FHIR_ID = new RegExp(`^${FHIR_ID_CHARS}$`);
const ONLY_DOTS = /^\.+$/;

/**
 * Whether a value is a FHIR id (and not a path segment such as `..`).
 * @param value - Anything.
 * @returns True for a usable id.
 */
export function isFhirId(value: unknown): value is string {
  return typeof value === 'string' && FHIR_ID.test(value) && !ONLY_DOTS.test(value);
}

/** A FHIR id as a zod schema (for payloads and notification bodies). */
export const FhirIdSchema = z.string().refine(isFhirId, { error: 'Invalid FHIR id' });
