/**
 * Search and history for the sandbox repository: the search mirror of the current versions (a candidate index for
 * references, identifiers and _id, a MemoryRepository for chained parameters, the write order for the default sort),
 * the exact matcher, paging, `_include`, and the searchset and history Bundles with their links.
 * https://hl7.org/fhir/R4/search.html https://hl7.org/fhir/R4/http.html#history
 */
import type { FhirPathAtom, SearchRequest, SortRule, WithId } from '@medplum/core';
import {
  badRequest,
  DEFAULT_MAX_SEARCH_COUNT,
  DEFAULT_SEARCH_COUNT,
  deepClone,
  evalFhirPath,
  formatSearchQuery,
  getReferenceString,
  globalSchema,
  matchesSearchRequest,
  OperationOutcomeError,
  parseFhirPath,
  validateResourceType,
} from '@medplum/core';
import { type FhirRepository, getExtraEntries, MemoryRepository } from '@medplum/fhir-router';
import type { Bundle, BundleEntry, BundleLink, Resource } from '@medplum/fhirtypes';
import { CandidateIndex } from './search-index.ts';
import type { VersionRecord } from './version-store.ts';

const MATCHABLE_PARAM_TYPES = new Set(['token', 'reference', 'string', 'uri', 'date']);

/** `_count` bounded to what the sandbox serves (0 to 1000). */
export function clampCount(count: number): number {
  return Math.min(Math.max(0, count), DEFAULT_MAX_SEARCH_COUNT);
}

/** Rejects what the in-memory matcher cannot answer correctly instead of silently matching nothing. */
export function checkSearchRequest(searchRequest: SearchRequest): void {
  const { resourceType } = searchRequest;
  validateResourceType(resourceType);
  const params = globalSchema.types[resourceType]?.searchParams ?? {};
  for (const filter of searchRequest.filters ?? []) {
    if (isChained(filter.code)) continue; // chained: MemoryRepository
    const param = params[filter.code];
    if (!param) {
      throw new OperationOutcomeError(badRequest(`Unknown search parameter: ${filter.code}`, filter.code));
    }
    if (!MATCHABLE_PARAM_TYPES.has(param.type) || !param.expression) {
      throw new OperationOutcomeError(
        badRequest(`Search parameter not supported by the sandbox: ${filter.code}`, filter.code),
      );
    }
  }
}

const isChained = (code: string): boolean => code.includes('.') || code.startsWith('_has:');

/** Search parameter expressions parsed once (a handful of distinct ones). */
const parsedExpressions = new Map<string, FhirPathAtom>();
function parsedExpression(expression: string): FhirPathAtom {
  let atom = parsedExpressions.get(expression);
  if (!atom) {
    atom = parseFhirPath(expression);
    parsedExpressions.set(expression, atom);
  }
  return atom;
}

/** The current versions of the store as search sees them. */
export class SearchMirror {
  /** Mirror of the current versions; answers chained searches (`subject:Patient.name=...`). */
  private readonly index = new MemoryRepository();
  /** Narrows searches by reference, identifier and _id. */
  private readonly candidates = new CandidateIndex();
  /** "Type/id" -> sequence number of its last write: the default search order (oldest write first). */
  private readonly writeOrder = new Map<string, number>();
  private writeSeq = 0;

  /** Makes the mirror hold exactly `current` for one resource (or nothing when it is undefined). */
  async set(resourceType: string, id: string, current: WithId<Resource> | undefined): Promise<void> {
    this.candidates.set(resourceType, id, current);
    if (current) this.writeOrder.set(`${resourceType}/${id}`, ++this.writeSeq);
    else this.writeOrder.delete(`${resourceType}/${id}`);
    await this.index.expungeResource(resourceType, id);
    if (current) {
      // Seeding keeps our versionId/lastUpdated instead of assigning new ones.
      await this.index.withSeeding(() => this.index.createResource(current));
    }
  }

  /**
   * One page of matches, as a searchset Bundle without links (see searchsetBundle).
   * @param repo - The repository (for `_include` / `_revinclude`).
   * @param request - The search, `count` and `offset` set.
   * @param currentOf - The current version of a resource of the searched type.
   * @param ids - Every id of the searched type.
   */
  async search<T extends Resource>(
    repo: FhirRepository,
    request: SearchRequest<T>,
    currentOf: (id: string) => WithId<Resource> | undefined,
    ids: Iterable<string>,
  ): Promise<Bundle<WithId<T>>> {
    if (request.filters?.some((f) => isChained(f.code))) return this.index.search(request);
    const matches: WithId<T>[] = [];
    for (const id of this.candidates.candidates(request) ?? ids) {
      const resource = currentOf(id) as WithId<T> | undefined;
      if (resource && matchesSearchRequest(resource, request)) matches.push(resource);
    }
    this.sortInPlace(matches, request.resourceType, request.sortRules);
    const offset = request.offset ?? 0;
    const page = matches.slice(offset, offset + (request.count ?? DEFAULT_SEARCH_COUNT));
    const entry: BundleEntry<WithId<T>>[] = page.map((r) => ({ search: { mode: 'match' }, resource: deepClone(r) }));
    if ((request.include || request.revInclude) && entry.length) {
      await getExtraEntries(repo, request, page, entry as BundleEntry[]);
    }
    return { resourceType: 'Bundle', type: 'searchset', total: matches.length, ...(entry.length ? { entry } : {}) };
  }

  /**
   * Sorts by the `_sort` rules, then by write order. Each resource's sort keys are evaluated once (a comparator that
   * evaluated FHIRPath per comparison made a large `_sort=_lastUpdated` page, a poll catching up, cost seconds).
   */
  private sortInPlace(matches: Resource[], resourceType: string, sortRules: SortRule[] | undefined): void {
    const params = globalSchema.types[resourceType]?.searchParams ?? {};
    const rules = (sortRules ?? []).flatMap((rule) => {
      const expression = params[rule.code]?.expression;
      return expression ? [{ atom: parsedExpression(expression), sign: rule.descending ? -1 : 1 }] : [];
    });
    const seq = (r: Resource): number => this.writeOrder.get(`${r.resourceType}/${r.id}`) ?? 0;
    const keyed = matches.map((resource) => ({
      resource,
      keys: rules.map(({ atom }) => JSON.stringify(evalFhirPath(atom, resource))),
      seq: seq(resource),
    }));
    keyed.sort((a, b) => {
      for (const [i, { sign }] of rules.entries()) {
        const order = (a.keys[i] as string).localeCompare(b.keys[i] as string);
        if (order !== 0) return order * sign;
      }
      return a.seq - b.seq;
    });
    keyed.forEach((k, i) => {
      matches[i] = k.resource;
    });
  }
}

/** A page of matches as the searchset the client sees: fullUrl on every entry, self/first/next/previous links. */
export function searchsetBundle<T extends Resource>(
  baseUrl: string,
  request: SearchRequest<T> & { count: number; offset: number },
  page: Bundle<WithId<T>>,
): Bundle<WithId<T>> {
  const { count, offset } = request;
  const entry = page.entry?.map(
    (e): BundleEntry<WithId<T>> => (e.resource ? { fullUrl: `${baseUrl}/${getReferenceString(e.resource)}`, ...e } : e),
  );
  const total = page.total ?? 0;
  const url = (o: number): string =>
    `${baseUrl}/${request.resourceType}${formatSearchQuery({ ...request, offset: o })}`;
  const link: BundleLink[] = [
    { relation: 'self', url: url(offset) },
    { relation: 'first', url: url(0) },
  ];
  if (count > 0 && offset + count < total) link.push({ relation: 'next', url: url(offset + count) });
  if (count > 0 && offset > 0) link.push({ relation: 'previous', url: url(Math.max(0, offset - count)) });
  return { resourceType: 'Bundle', type: 'searchset', total, link, ...(entry ? { entry } : {}) };
}

/** Instance history, newest first, deletions included as entries without a resource, paged by `_count`/`_offset`. */
export function historyBundle<T extends Resource>(
  baseUrl: string,
  resourceType: string,
  id: string,
  versions: readonly VersionRecord[],
  page: { count: number; offset: number },
): Bundle<WithId<T>> {
  const { count, offset } = page;
  const url = `${resourceType}/${id}`;
  const entry = [...versions]
    .reverse()
    .slice(offset, offset + count)
    .map((v): BundleEntry<WithId<T>> => {
      const e: BundleEntry<WithId<T>> = {
        fullUrl: `${baseUrl}/${url}`,
        request: {
          method: v.interaction === 'delete' ? 'DELETE' : v.interaction === 'create' ? 'POST' : 'PUT',
          url: v.interaction === 'create' ? resourceType : url,
        },
        response: {
          status: v.interaction === 'delete' ? '204' : v.interaction === 'create' ? '201' : '200',
          etag: `W/"${v.versionId}"`,
          lastModified: v.lastUpdated,
        },
      };
      if (v.resource) e.resource = deepClone(v.resource) as WithId<T>;
      return e;
    });
  const self = `${baseUrl}/${url}/_history`;
  const link: BundleLink[] = [{ relation: 'self', url: `${self}?_count=${count}&_offset=${offset}` }];
  if (offset + count < versions.length) {
    link.push({ relation: 'next', url: `${self}?_count=${count}&_offset=${offset + count}` });
  }
  return { resourceType: 'Bundle', type: 'history', total: versions.length, link, entry };
}
