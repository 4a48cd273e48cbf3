/**
 * A candidate index for the sandbox's search: narrows a search to the resources that *could* match one of
 * its reference, identifier or `_id` filters, so that the exact matcher (@medplum/core `matchesSearchRequest`)
 * runs on a handful of resources instead of every resource of the type. It only ever returns supersets of the
 * true matches; anything it cannot narrow safely (negation, modifiers, escaped commas, chained parameters,
 * other parameter types) returns `undefined` and the caller scans.
 */
import type { Filter, SearchRequest } from '@medplum/core';
import { globalSchema, Operator } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';

const MAX_KEY_LENGTH = 256;

export class CandidateIndex {
  /** resourceType -> key -> ids */
  private readonly byType = new Map<string, Map<string, Set<string>>>();
  /** "Type/id" -> keys currently indexed for it */
  private readonly keysOf = new Map<string, string[]>();

  /** Re-indexes one resource; `resource` undefined removes it. */
  set(resourceType: string, id: string, resource: Resource | undefined): void {
    const ref = `${resourceType}/${id}`;
    let keys = this.byType.get(resourceType);
    if (!keys) {
      keys = new Map();
      this.byType.set(resourceType, keys);
    }
    for (const key of this.keysOf.get(ref) ?? []) {
      const ids = keys.get(key);
      ids?.delete(id);
      if (ids?.size === 0) keys.delete(key);
    }
    if (!resource) {
      this.keysOf.delete(ref);
      return;
    }
    const next = [...indexKeys(resource)];
    next.push(`id:${id}`);
    for (const key of next) {
      let ids = keys.get(key);
      if (!ids) {
        ids = new Set();
        keys.set(key, ids);
      }
      ids.add(id);
    }
    this.keysOf.set(ref, next);
  }

  /** Ids that may match the request (a superset), or undefined when no filter can narrow it. */
  candidates(searchRequest: SearchRequest): Set<string> | undefined {
    const keys = this.byType.get(searchRequest.resourceType);
    let best: Set<string> | undefined;
    for (const filter of searchRequest.filters ?? []) {
      const filterKeys = lookupKeys(searchRequest.resourceType, filter);
      if (!filterKeys) continue;
      const ids = new Set<string>();
      for (const key of filterKeys) {
        for (const id of keys?.get(key) ?? []) ids.add(id);
      }
      if (!best || ids.size < best.size) best = ids;
      if (best.size === 0) break;
    }
    return best;
  }
}

/** The index keys of a filter's values, or undefined if this filter cannot narrow safely. */
function lookupKeys(resourceType: string, filter: Filter): string[] | undefined {
  if (filter.operator !== Operator.EQUALS || filter.code.includes('.') || filter.value.includes('\\')) {
    return undefined;
  }
  const values = filter.value.split(',');
  if (filter.code === '_id') return values.map((v) => `id:${v}`);
  const param = globalSchema.types[resourceType]?.searchParams?.[filter.code];
  if (!param) return undefined;
  if (param.type === 'reference') {
    // Medplum: a value with a '/' must equal a reference; a bare id matches any reference ending in '/id'
    // when the parameter has one target type, and nothing otherwise.
    return values.map((v) => (v.includes('/') ? `r:${v}` : `rid:${v}`));
  }
  if (param.type === 'token' && filter.code === 'identifier') return tokenKeys('i', values);
  if (filter.code === '_tag') return tokenKeys('t', values);
  return undefined;
}

/**
 * Keys of token values (`system|value`, `|value`, `value`), lower-cased like the indexed ones (a superset whether or
 * not the matcher ignores case); undefined for `system|` (any value of a system), which cannot narrow.
 */
function tokenKeys(prefix: 'i' | 't', values: readonly string[]): string[] | undefined {
  const keys: string[] = [];
  for (const v of values) {
    if (!v.includes('|')) {
      keys.push(`${prefix}v:${v.toLowerCase()}`);
      continue;
    }
    const [system = '', value = ''] = v.split('|').map((part) => part.toLowerCase());
    if (!value) return undefined;
    keys.push(system ? `${prefix}:${system}|${value}` : `${prefix}v:${value}`);
  }
  return keys;
}

/** Every key a resource can be found under: reference-like strings, identifiers, inline resources. */
function indexKeys(resource: Resource): Set<string> {
  const keys = new Set<string>();
  const visit = (value: unknown, property: string | undefined): void => {
    if (typeof value === 'string') {
      if (value.length <= MAX_KEY_LENGTH && value.includes('/') && !/\s/.test(value)) {
        keys.add(`r:${value}`);
        keys.add(`rid:${value.slice(value.lastIndexOf('/') + 1)}`);
      }
      return;
    }
    if (Array.isArray(value)) {
      for (const item of value) visit(item, property);
      return;
    }
    if (!value || typeof value !== 'object') return;
    const obj = value as Record<string, unknown>;
    if (property === 'identifier' || property === 'masterIdentifier') {
      const tokenValue = typeof obj.value === 'string' ? obj.value.toLowerCase() : undefined;
      if (tokenValue) {
        const system = typeof obj.system === 'string' ? obj.system.toLowerCase() : '';
        keys.add(`i:${system}|${tokenValue}`);
        keys.add(`iv:${tokenValue}`);
      }
    }
    if (value !== resource && typeof obj.resourceType === 'string' && typeof obj.id === 'string') {
      keys.add(`r:${obj.resourceType}/${obj.id}`);
      keys.add(`rid:${obj.id}`);
    }
    for (const [key, child] of Object.entries(obj)) visit(child, key);
  };
  visit(resource, undefined);
  // `_tag` (Resource.meta.tag): the adapter's Provenance is created on a `_tag` condition, once per write.
  for (const tag of resource.meta?.tag ?? []) {
    const code = tag.code?.toLowerCase();
    if (!code) continue;
    keys.add(`t:${tag.system?.toLowerCase() ?? ''}|${code}`);
    keys.add(`tv:${code}`);
  }
  return keys;
}
