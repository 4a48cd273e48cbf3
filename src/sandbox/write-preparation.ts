/**
 * What every write to the sandbox goes through before it is stored: id syntax, server meta removed, conditional
 * references (`Patient?identifier=...`) resolved as Medplum and HAPI do on write, validation against the base R4
 * StructureDefinitions (as Medplum's strict mode does); and the content comparison that makes an update "unchanged".
 */
import type { SearchRequest, WithId } from '@medplum/core';
import {
  badRequest,
  deepEquals,
  OperationOutcomeError,
  parseSearchRequest,
  stringify,
  validateResource,
} from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import { isFhirId } from '../fhir-model/ids.ts';

const CONDITIONAL_REFERENCE = /^[A-Z][A-Za-z]+\?/;

/** Finds the resources a conditional reference matches (at most `count`). */
export type SearchResources = (request: SearchRequest) => Promise<WithId<Resource>[]>;

/** Refuses an id that is not a FHIR id (400). */
export function checkId(id: string): void {
  if (!isFhirId(id)) {
    throw new OperationOutcomeError(badRequest('Invalid resource id', 'id'));
  }
}

/**
 * Normalises, resolves conditional references and validates an incoming resource (which has an id).
 * @param resource - What the client sent.
 * @param search - How conditional references are looked up.
 * @param validate - Whether to validate against the base R4 definitions.
 * @returns A clean copy, ready to store.
 */
export async function prepareWrite<T extends Resource>(
  resource: T,
  search: SearchResources,
  validate: boolean,
): Promise<WithId<T>> {
  const clean = JSON.parse(stringify(resource)) as WithId<T>;
  if (clean.meta) {
    delete clean.meta.versionId;
    delete clean.meta.lastUpdated;
    if (Object.keys(clean.meta).length === 0) delete clean.meta;
  }
  await resolveConditionalReferences(clean, search);
  if (validate) validateResource(clean);
  return clean;
}

/** Replaces `Type?search` references by the one resource they match (Medplum and HAPI do this on write). */
async function resolveConditionalReferences(value: unknown, search: SearchResources): Promise<void> {
  if (Array.isArray(value)) {
    for (const item of value) await resolveConditionalReferences(item, search);
    return;
  }
  if (!value || typeof value !== 'object') return;
  const obj = value as Record<string, unknown>;
  for (const [key, child] of Object.entries(obj)) {
    if (key === 'reference' && typeof child === 'string' && CONDITIONAL_REFERENCE.test(child)) {
      const matches = await search({ ...parseSearchRequest(child), count: 2 });
      if (matches.length !== 1 || !matches[0]) {
        throw new OperationOutcomeError(
          badRequest(
            matches.length ? 'Conditional reference matched multiple resources' : 'Conditional reference not found',
          ),
        );
      }
      obj[key] = `${matches[0].resourceType}/${matches[0].id}`;
    } else if (child && typeof child === 'object') {
      await resolveConditionalReferences(child, search);
    }
  }
}

/** Same content, ignoring the server-assigned meta.versionId / lastUpdated (Medplum's isNotModified). */
export function sameContent(existing: Resource, incoming: Resource): boolean {
  return deepEquals(withoutServerMeta(existing), withoutServerMeta(incoming));
}

function withoutServerMeta(resource: Resource): Resource {
  if (!resource.meta) return resource;
  const { versionId: _v, lastUpdated: _l, ...meta } = resource.meta;
  const { meta: _m, ...rest } = resource;
  return Object.keys(meta).length ? ({ ...rest, meta } as Resource) : (rest as Resource);
}

/** Freezes a stored version, so no caller can change what the store holds. */
export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
