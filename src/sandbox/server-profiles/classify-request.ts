/**
 * What a FHIR REST request asks for, in the CapabilityStatement's terms: its level, resource type, interaction or
 * operation, whether it is conditional, and the search parameters it uses. Used for requests and for each entry of a
 * batch or transaction alike. https://hl7.org/fhir/R4/http.html
 */
import type { SystemInteraction, TypeInteraction } from './profile-model.ts';

export interface ClassifiedRequest {
  readonly resourceType?: string;
  readonly id?: string;
  readonly interaction: TypeInteraction | SystemInteraction | 'operation' | 'capabilities' | 'other';
  /** The operation name without `$`, for `operation`. */
  readonly operation?: string;
  /** Conditional create (If-None-Exist), update, patch or delete (criteria in the URL). */
  readonly conditional?: 'create' | 'update' | 'patch' | 'delete';
  /** Search parameter names used (searches and conditional criteria), modifiers and chains removed. */
  readonly searchParams: readonly string[];
  /** The version an update names in If-Match, when it names one. */
  readonly ifMatch?: string;
}

/** Result parameters: they shape the answer, select nothing, and every profile takes them. */
const RESULT_PARAMETERS = new Set([
  '_count',
  '_offset',
  '_sort',
  '_include',
  '_revinclude',
  '_elements',
  '_summary',
  '_total',
  '_format',
  '_pretty',
  '_contained',
  '_containedType',
]);

const RESOURCE_TYPE = /^[A-Z][A-Za-z]+$/;

/**
 * The search parameter names of a query (result parameters left out).
 * @param query - The query parameters.
 * @returns Distinct names, modifiers (`code:text`) and chains (`subject.name`) removed.
 */
export function searchParamNames(query: URLSearchParams | Iterable<[string, string]>): string[] {
  const names = new Set<string>();
  for (const [key] of query) {
    const name = key.split(':')[0]?.split('.')[0] ?? '';
    if (name && !RESULT_PARAMETERS.has(name)) names.add(name);
  }
  return [...names];
}

/** The version in an If-Match header (`W/"3"` -> `3`). */
export function versionOfETag(etag: string | undefined): string | undefined {
  if (!etag) return undefined;
  const version = etag.replace(/^W\//, '').replace(/"/g, '').trim();
  return version || undefined;
}

/**
 * Classifies one request.
 * @param method - HTTP method (upper case).
 * @param path - The path below the FHIR base, without query (`/Observation/1`).
 * @param query - The query parameters (and for `POST _search`, the form's).
 * @param headers - If-None-Exist and If-Match, when present.
 * @param bundleType - For `POST [base]`: the Bundle's type.
 */
export function classifyRequest(
  method: string,
  path: string,
  query: URLSearchParams,
  headers: { ifNoneExist?: string; ifMatch?: string },
  bundleType?: string,
): ClassifiedRequest {
  const segments = path.split('/').filter(Boolean);
  const params = searchParamNames(query);
  const [first, second, third, fourth] = segments;
  if (!first) return classifySystem(method, query, bundleType);
  if (first === 'metadata') return { interaction: 'capabilities', searchParams: [] };
  if (first.startsWith('$')) return { interaction: 'operation', operation: first.slice(1), searchParams: [] };
  if (first === '_history') return { interaction: 'history-system', searchParams: [] };
  if (!RESOURCE_TYPE.test(first)) return { interaction: 'other', searchParams: [] };
  const resourceType = first;
  if (second === undefined) return classifyType(method, resourceType, headers, params);
  if (second === '_search') return { resourceType, interaction: 'search-type', searchParams: params };
  if (second === '_history') return { resourceType, interaction: 'history-type', searchParams: [] };
  if (second.startsWith('$'))
    return { resourceType, interaction: 'operation', operation: second.slice(1), searchParams: [] };
  const id = second;
  if (third === undefined) return classifyInstance(method, resourceType, id, headers);
  if (third === '_history') {
    return { resourceType, id, interaction: fourth === undefined ? 'history-instance' : 'vread', searchParams: [] };
  }
  if (third.startsWith('$'))
    return { resourceType, id, interaction: 'operation', operation: third.slice(1), searchParams: [] };
  return { resourceType, id, interaction: 'other', searchParams: [] };
}

function classifySystem(method: string, query: URLSearchParams, bundleType: string | undefined): ClassifiedRequest {
  if (method === 'POST') {
    if (bundleType === 'transaction') return { interaction: 'transaction', searchParams: [] };
    if (bundleType === 'batch') return { interaction: 'batch', searchParams: [] };
    return { interaction: 'other', searchParams: [] };
  }
  if (method === 'GET') return { interaction: 'search-system', searchParams: searchParamNames(query) };
  return { interaction: 'other', searchParams: [] };
}

function classifyType(
  method: string,
  resourceType: string,
  headers: { ifNoneExist?: string },
  params: string[],
): ClassifiedRequest {
  switch (method) {
    case 'GET':
      return { resourceType, interaction: 'search-type', searchParams: params };
    case 'POST': {
      if (!headers.ifNoneExist) return { resourceType, interaction: 'create', searchParams: [] };
      const criteria = searchParamNames(new URLSearchParams(headers.ifNoneExist.replace(/^[^?]*\?/, '')));
      return { resourceType, interaction: 'create', conditional: 'create', searchParams: criteria };
    }
    case 'PUT':
      return { resourceType, interaction: 'update', conditional: 'update', searchParams: params };
    case 'PATCH':
      return { resourceType, interaction: 'patch', conditional: 'patch', searchParams: params };
    case 'DELETE':
      return { resourceType, interaction: 'delete', conditional: 'delete', searchParams: params };
    default:
      return { resourceType, interaction: 'other', searchParams: [] };
  }
}

function classifyInstance(
  method: string,
  resourceType: string,
  id: string,
  headers: { ifMatch?: string },
): ClassifiedRequest {
  const ifMatch = versionOfETag(headers.ifMatch);
  const base = { resourceType, id, searchParams: [], ...(ifMatch ? { ifMatch } : {}) };
  switch (method) {
    case 'GET':
      return { ...base, interaction: 'read' };
    case 'PUT':
      return { ...base, interaction: 'update' };
    case 'PATCH':
      return { ...base, interaction: 'patch' };
    case 'DELETE':
      return { ...base, interaction: 'delete' };
    default:
      return { ...base, interaction: 'other' };
  }
}
