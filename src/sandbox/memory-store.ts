/**
 * The sandbox's FHIR repository: a versioned in-memory store with savepoint transactions, built on
 * @medplum/fhir-router (FhirRepository's conditional create/update/delete/patch, `getExtraEntries` for
 * `_include`/`_revinclude`, and a MemoryRepository mirror of the current versions for chained searches).
 *
 * What MemoryRepository lacks and this class adds (each covered by test/sandbox):
 * - transactions: its `withTransaction` just runs the callback; here it is a savepoint with an undo log, so a
 *   failing transaction Bundle or conditional write leaves nothing behind;
 * - "unchanged" writes: an update whose content equals the current version keeps the version (Medplum's
 *   `isNotModified`, HAPI's no-op update) and is reported as an `unchanged` write event;
 * - deletion history: deleted resources answer 410 Gone, keep their history and a tombstone version, and a
 *   second delete succeeds (Medplum semantics); MemoryRepository forgets them and answers 404;
 * - `readHistory` newest first without mutating the stored history, with paging, fullUrl, request/response;
 * - create ignores a client-supplied id unless the batch processor assigned it (FHIR create semantics;
 *   MemoryRepository keeps the client id); conditional create/update/delete are FhirRepository's generic
 *   implementations, so they run inside a savepoint and through the same create/update/delete path
 *   (MemoryRepository's own conditional create bypasses its createResource);
 * - search: default `_count` 20 (max 1000), `fullUrl`, `self`/`first`/`next`/`previous` links, and a 400 for
 *   unknown or unsupported search parameters (MemoryRepository silently matches nothing, which would make a
 *   conditional update create duplicates);
 * - validation of written resources against the base R4 StructureDefinitions (as Medplum's strict mode does),
 *   id syntax, conditional references (`Patient?identifier=...`) resolved on write, monotonic `lastUpdated`.
 *
 * Search runs @medplum/core's `matchesSearchRequest` (the matcher MemoryRepository uses) over the candidates
 * of a small index (references, identifiers, _id), so a search by patient or identifier does not scan every
 * resource of the type; chained parameters go to the MemoryRepository mirror.
 *
 * Errors are @medplum/core OperationOutcomeErrors: FhirRouter turns only those into their status.
 * https://hl7.org/fhir/R4/http.html
 */
import type { Operation, SearchRequest, SortRule, WithId } from '@medplum/core';
import {
  applyPatch,
  badRequest,
  DEFAULT_MAX_SEARCH_COUNT,
  DEFAULT_SEARCH_COUNT,
  deepClone,
  deepEquals,
  evalFhirPath,
  fhirpathPatchTypedValue,
  formatSearchQuery,
  generateId,
  getReferenceString,
  globalSchema,
  gone,
  matchesSearchRequest,
  normalizeOperationOutcome,
  notFound,
  OperationOutcomeError,
  parseFhirPathPatchParameters,
  parseSearchRequest,
  preconditionFailed,
  stringify,
  toTypedValue,
  validateResource,
  validateResourceType,
} from '@medplum/core';
import type {
  CreateResourceOptions,
  DeleteResourceOptions,
  ReadHistoryOptions,
  RepositoryMode,
  SearchOptions,
  TransactionOptions,
  UpdateResourceOptions,
} from '@medplum/fhir-router';
import { FhirRepository, getExtraEntries, MemoryRepository } from '@medplum/fhir-router';
import type { Bundle, BundleEntry, BundleLink, Parameters, Reference, Resource } from '@medplum/fhirtypes';
import { isFhirId } from '../fhir-model/ids.ts';
import { CandidateIndex } from './search-index.ts';

/** What a committed write did. `unchanged` = an update with identical content; no new version, no notification. */
export type WriteInteraction = 'create' | 'update' | 'delete' | 'unchanged';

/** One committed write. The resources are the stored (frozen) versions: never mutate them. */
export interface WriteEvent {
  readonly interaction: WriteInteraction;
  /** The version written; for `delete` the last version before the deletion; for `unchanged` the current one. */
  readonly resource: WithId<Resource>;
  /** The version before this write, if there was one. */
  readonly previous?: WithId<Resource>;
}

export type CommitListener = (events: readonly WriteEvent[]) => void;

export interface SandboxRepositoryOptions {
  /** Public URL of the FHIR base (e.g. http://127.0.0.1:8080/fhir/R4), used for fullUrl and paging links. */
  readonly baseUrl: string;
  /** Validate written resources against the base R4 definitions (default true). */
  readonly validate?: boolean;
}

interface VersionRecord {
  readonly versionId: string;
  readonly lastUpdated: string;
  readonly interaction: 'create' | 'update' | 'delete';
  /** Absent for a deletion (tombstone). */
  readonly resource?: WithId<Resource>;
}

interface UndoEntry {
  readonly resourceType: string;
  readonly id: string;
  /** Number of versions the resource had before the write. */
  readonly length: number;
}

const CONDITIONAL_REFERENCE = /^[A-Z][A-Za-z]+\?/;
const MATCHABLE_PARAM_TYPES = new Set(['token', 'reference', 'string', 'uri', 'date']);
const DEFAULT_HISTORY_COUNT = 100;

export class SandboxRepository extends FhirRepository {
  readonly baseUrl: string;
  private readonly validateWrites: boolean;
  /** Mirror of the current versions; answers chained searches (`subject:Patient.name=...`). */
  private readonly index = new MemoryRepository();
  /** Narrows searches by reference, identifier and _id. */
  private readonly candidates = new CandidateIndex();
  /** "Type/id" -> sequence number of its last write: the default search order (oldest write first). */
  private readonly writeOrder = new Map<string, number>();
  private writeSeq = 0;
  /** resourceType -> id -> versions, oldest first. */
  private readonly store = new Map<string, Map<string, VersionRecord[]>>();
  private readonly listeners = new Set<CommitListener>();
  private undoLog: UndoEntry[] = [];
  private pending: WriteEvent[] = [];
  private depth = 0;
  private lastTimestamp = 0;

  constructor(options: SandboxRepositoryOptions) {
    super();
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.validateWrites = options.validate ?? true;
  }

  /** Registers a listener called synchronously with the writes of each committed unit. Returns an unsubscribe. */
  onCommit(listener: CommitListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  setMode(_mode: RepositoryMode): void {
    // One store, no read replicas.
  }

  generateId(): string {
    return generateId();
  }

  /** Number of current (not deleted) resources, all types. */
  countResources(): number {
    let n = 0;
    for (const byId of this.store.values()) {
      for (const versions of byId.values()) if (versions.at(-1)?.resource) n++;
    }
    return n;
  }

  /** The current versions of one type (no copies: read-only). */
  listCurrent<T extends Resource>(resourceType: T['resourceType']): WithId<T>[] {
    const result: WithId<T>[] = [];
    for (const versions of this.store.get(resourceType)?.values() ?? []) {
      const current = versions.at(-1)?.resource;
      if (current) result.push(current as WithId<T>);
    }
    return result;
  }

  /** The current version id, or undefined when the resource does not exist or is deleted. */
  currentVersionId(resourceType: string, id: string): string | undefined {
    return this.current(resourceType, id)?.meta?.versionId;
  }

  // ---------------------------------------------------------------- writes

  async createResource<T extends Resource>(resource: T, options?: CreateResourceOptions): Promise<WithId<T>> {
    validateResourceType(resource.resourceType);
    const id = options?.assignedId && resource.id ? resource.id : this.generateId();
    checkId(id);
    const incoming = await this.prepare({ ...resource, id });
    if (this.versions(resource.resourceType, id)?.length) {
      throw new OperationOutcomeError(badRequest('Assigned ID is already in use', `${resource.resourceType}.id`));
    }
    return (await this.writeVersion(incoming, 'create', undefined)) as WithId<T>;
  }

  async updateResource<T extends Resource>(resource: T, options?: UpdateResourceOptions): Promise<WithId<T>> {
    validateResourceType(resource.resourceType);
    if (!resource.id) {
      throw new OperationOutcomeError(badRequest('Missing id', `${resource.resourceType}.id`));
    }
    checkId(resource.id);
    const incoming = await this.prepare(resource);
    // No await from here to the write: the check and the write are atomic.
    const existing = this.current(resource.resourceType, resource.id);
    if (options?.ifMatch) {
      if (!existing) throw new OperationOutcomeError(notFound);
      if (existing.meta?.versionId !== options.ifMatch) throw new OperationOutcomeError(preconditionFailed);
    }
    if (existing && sameContent(existing, incoming)) {
      this.record({ interaction: 'unchanged', resource: existing, previous: existing });
      return deepClone(existing) as WithId<T>;
    }
    return (await this.writeVersion(incoming, existing ? 'update' : 'create', existing)) as WithId<T>;
  }

  async patchResource<T extends Resource>(
    resourceType: T['resourceType'],
    id: string,
    patch: Operation[] | Parameters,
    options?: UpdateResourceOptions,
  ): Promise<WithId<T>> {
    const resource = await this.readResource<T>(resourceType, id);
    try {
      if (Array.isArray(patch)) {
        const errors = applyPatch(resource, patch).filter(Boolean);
        if (errors.length > 0) {
          throw new OperationOutcomeError(badRequest(errors.map((e) => (e as Error).message).join('\n')));
        }
      } else if (patch.parameter) {
        fhirpathPatchTypedValue(toTypedValue(resource), parseFhirPathPatchParameters(patch));
      }
    } catch (err) {
      throw new OperationOutcomeError(normalizeOperationOutcome(err));
    }
    if (resource.resourceType !== resourceType || resource.id !== id) {
      throw new OperationOutcomeError(badRequest('Patch cannot change the resource type or id'));
    }
    return this.updateResource(resource, options);
  }

  async deleteResource(resourceType: string, id: string, options?: DeleteResourceOptions): Promise<void> {
    validateResourceType(resourceType);
    const versions = this.versions(resourceType, id);
    const last = versions?.at(-1);
    if (!versions || !last) throw new OperationOutcomeError(notFound);
    if (!last.resource) return; // already deleted: deleting again succeeds (Medplum, HAPI)
    if (options?.ifMatch && last.versionId !== options.ifMatch) {
      throw new OperationOutcomeError(preconditionFailed);
    }
    this.pushUndo(resourceType, id, versions.length);
    versions.push({ versionId: this.generateId(), lastUpdated: this.nextTimestamp(), interaction: 'delete' });
    await this.mirror(resourceType, id);
    this.record({ interaction: 'delete', resource: last.resource, previous: last.resource });
  }

  /**
   * Runs the callback as a savepoint: if it throws, every write it made is undone and the error rethrown.
   * The outermost successful call commits and hands its write events to the commit listeners.
   */
  async withTransaction<TResult>(
    callback: (txRepo: this) => Promise<TResult>,
    _options?: TransactionOptions,
  ): Promise<TResult> {
    const undoMark = this.undoLog.length;
    const eventMark = this.pending.length;
    this.depth++;
    let result: TResult;
    try {
      result = await callback(this);
    } catch (err) {
      await this.rollbackTo(undoMark);
      this.pending.length = eventMark;
      this.depth--;
      throw err;
    }
    this.depth--;
    if (this.depth === 0) this.commit();
    return result;
  }

  // ---------------------------------------------------------------- reads

  async readResource<T extends Resource>(resourceType: string, id: string): Promise<WithId<T>> {
    validateResourceType(resourceType);
    const last = this.versions(resourceType, id)?.at(-1);
    if (!last) throw new OperationOutcomeError(notFound);
    if (!last.resource) throw new OperationOutcomeError(gone);
    return deepClone(last.resource) as WithId<T>;
  }

  async readReference<T extends Resource>(reference: Reference<T>): Promise<WithId<T>> {
    const parts = reference.reference?.split('/');
    if (parts?.length !== 2 || !parts[0] || !parts[1]) {
      throw new OperationOutcomeError(badRequest('Invalid reference'));
    }
    return this.readResource<T>(parts[0], parts[1]);
  }

  async readReferences<T extends Resource>(references: readonly Reference<T>[]): Promise<(T | Error)[]> {
    return Promise.all(
      references.map((r) =>
        this.readReference<T>(r).catch((err: unknown) =>
          err instanceof OperationOutcomeError ? err : new OperationOutcomeError(normalizeOperationOutcome(err)),
        ),
      ),
    );
  }

  async readVersion<T extends Resource>(resourceType: string, id: string, vid: string): Promise<WithId<T>> {
    validateResourceType(resourceType);
    const version = this.versions(resourceType, id)?.find((v) => v.versionId === vid);
    if (!version) throw new OperationOutcomeError(notFound);
    if (!version.resource) throw new OperationOutcomeError(gone);
    return deepClone(version.resource) as WithId<T>;
  }

  /** Instance history, newest first, deletions included as entries without a resource. */
  async readHistory<T extends Resource>(
    resourceType: string,
    id: string,
    options?: ReadHistoryOptions,
  ): Promise<Bundle<WithId<T>>> {
    validateResourceType(resourceType);
    const versions = this.versions(resourceType, id);
    if (!versions?.length) throw new OperationOutcomeError(notFound);
    const count = clampCount(options?.limit ?? DEFAULT_HISTORY_COUNT);
    const offset = Math.max(0, options?.offset ?? 0);
    const newestFirst = [...versions].reverse();
    const entry = newestFirst.slice(offset, offset + count).map((v): BundleEntry<WithId<T>> => {
      const url = `${resourceType}/${id}`;
      const e: BundleEntry<WithId<T>> = {
        fullUrl: `${this.baseUrl}/${url}`,
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
    const self = `${this.baseUrl}/${resourceType}/${id}/_history`;
    const link: BundleLink[] = [{ relation: 'self', url: `${self}?_count=${count}&_offset=${offset}` }];
    if (offset + count < versions.length) {
      link.push({ relation: 'next', url: `${self}?_count=${count}&_offset=${offset + count}` });
    }
    return { resourceType: 'Bundle', type: 'history', total: versions.length, link, entry };
  }

  async search<T extends Resource>(
    searchRequest: SearchRequest<T>,
    _options?: SearchOptions,
  ): Promise<Bundle<WithId<T>>> {
    checkSearchRequest(searchRequest);
    const count = clampCount(searchRequest.count ?? DEFAULT_SEARCH_COUNT);
    const offset = Math.max(0, searchRequest.offset ?? 0);
    if (Number.isNaN(count) || Number.isNaN(offset)) {
      throw new OperationOutcomeError(badRequest('Invalid _count or _offset'));
    }
    const request: SearchRequest<T> = { ...searchRequest, count, offset };
    const chained = request.filters?.some((f) => f.code.includes('.') || f.code.startsWith('_has:'));
    const bundle = chained ? await this.index.search(request) : await this.scan(request);
    const entry = bundle.entry?.map(
      (e): BundleEntry<WithId<T>> =>
        e.resource ? { fullUrl: `${this.baseUrl}/${getReferenceString(e.resource)}`, ...e } : e,
    );
    const total = bundle.total ?? 0;
    const url = (o: number): string =>
      `${this.baseUrl}/${request.resourceType}${formatSearchQuery({ ...request, offset: o })}`;
    const link: BundleLink[] = [
      { relation: 'self', url: url(offset) },
      { relation: 'first', url: url(0) },
    ];
    if (count > 0 && offset + count < total) link.push({ relation: 'next', url: url(offset + count) });
    if (count > 0 && offset > 0) link.push({ relation: 'previous', url: url(Math.max(0, offset - count)) });
    return { resourceType: 'Bundle', type: 'searchset', total, link, ...(entry ? { entry } : {}) };
  }

  async searchByReference<T extends Resource>(
    searchRequest: SearchRequest<T>,
    referenceField: string,
    references: string[],
  ): Promise<Record<string, WithId<T>[]>> {
    const result: Record<string, WithId<T>[]> = {};
    for (const reference of references) {
      const filters = [
        ...(searchRequest.filters ?? []),
        { code: referenceField, operator: 'eq' as const, value: reference },
      ];
      result[reference] = await this.searchResources({ ...searchRequest, filters });
    }
    return result;
  }

  // ---------------------------------------------------------------- internals

  /**
   * Search without chained parameters: the candidate index narrows by reference/identifier/_id, the exact
   * matcher (@medplum/core matchesSearchRequest, as MemoryRepository uses) decides, then sort, page, include.
   */
  private async scan<T extends Resource>(request: SearchRequest<T>): Promise<Bundle<WithId<T>>> {
    const byId = this.store.get(request.resourceType);
    const ids = this.candidates.candidates(request) ?? byId?.keys() ?? [];
    const matches: WithId<T>[] = [];
    for (const id of ids) {
      const resource = byId?.get(id)?.at(-1)?.resource as WithId<T> | undefined;
      if (resource && matchesSearchRequest(resource, request)) matches.push(resource);
    }
    matches.sort(this.comparator(request.resourceType, request.sortRules));
    const offset = request.offset ?? 0;
    const page = matches.slice(offset, offset + (request.count ?? DEFAULT_SEARCH_COUNT));
    const entry: BundleEntry<WithId<T>>[] = page.map((r) => ({ search: { mode: 'match' }, resource: deepClone(r) }));
    if ((request.include || request.revInclude) && entry.length) {
      await getExtraEntries(this, request, page, entry as BundleEntry[]);
    }
    return { resourceType: 'Bundle', type: 'searchset', total: matches.length, ...(entry.length ? { entry } : {}) };
  }

  private comparator(resourceType: string, sortRules: SortRule[] | undefined): (a: Resource, b: Resource) => number {
    const params = globalSchema.types[resourceType]?.searchParams ?? {};
    const rules = (sortRules ?? []).flatMap((rule) => {
      const expression = params[rule.code]?.expression;
      return expression ? [{ expression, sign: rule.descending ? -1 : 1 }] : [];
    });
    const seq = (r: Resource): number => this.writeOrder.get(`${r.resourceType}/${r.id}`) ?? 0;
    return (a, b) => {
      for (const { expression, sign } of rules) {
        const order = JSON.stringify(evalFhirPath(expression, a)).localeCompare(
          JSON.stringify(evalFhirPath(expression, b)),
        );
        if (order !== 0) return order * sign;
      }
      return seq(a) - seq(b);
    };
  }

  private versions(resourceType: string, id: string): VersionRecord[] | undefined {
    return this.store.get(resourceType)?.get(id);
  }

  private current(resourceType: string, id: string): WithId<Resource> | undefined {
    return this.versions(resourceType, id)?.at(-1)?.resource;
  }

  /** Normalises, resolves conditional references and validates an incoming resource (which has an id). */
  private async prepare<T extends Resource>(resource: T): Promise<WithId<T>> {
    const clean = JSON.parse(stringify(resource)) as WithId<T>;
    if (clean.meta) {
      delete clean.meta.versionId;
      delete clean.meta.lastUpdated;
      if (Object.keys(clean.meta).length === 0) delete clean.meta;
    }
    await this.resolveConditionalReferences(clean);
    if (this.validateWrites) validateResource(clean);
    return clean;
  }

  /** Replaces `Type?search` references by the one resource they match (Medplum and HAPI do this on write). */
  private async resolveConditionalReferences(value: unknown): Promise<void> {
    if (Array.isArray(value)) {
      for (const item of value) await this.resolveConditionalReferences(item);
      return;
    }
    if (!value || typeof value !== 'object') return;
    const obj = value as Record<string, unknown>;
    for (const [key, child] of Object.entries(obj)) {
      if (key === 'reference' && typeof child === 'string' && CONDITIONAL_REFERENCE.test(child)) {
        const matches = await this.searchResources({ ...parseSearchRequest(child), count: 2 });
        if (matches.length !== 1 || !matches[0]) {
          throw new OperationOutcomeError(
            badRequest(
              matches.length ? 'Conditional reference matched multiple resources' : 'Conditional reference not found',
            ),
          );
        }
        obj[key] = `${matches[0].resourceType}/${matches[0].id}`;
      } else if (child && typeof child === 'object') {
        await this.resolveConditionalReferences(child);
      }
    }
  }

  private async writeVersion(
    incoming: WithId<Resource>,
    interaction: 'create' | 'update',
    previous: WithId<Resource> | undefined,
  ): Promise<WithId<Resource>> {
    const { resourceType, id } = incoming;
    const versionId = this.generateId();
    const lastUpdated = this.nextTimestamp();
    const { resourceType: _t, id: _i, meta, ...rest } = incoming;
    const stored = deepFreeze({
      resourceType,
      id,
      meta: { ...meta, versionId, lastUpdated },
      ...rest,
    } as WithId<Resource>);
    let byId = this.store.get(resourceType);
    if (!byId) {
      byId = new Map();
      this.store.set(resourceType, byId);
    }
    let versions = byId.get(id);
    if (!versions) {
      versions = [];
      byId.set(id, versions);
    }
    this.pushUndo(resourceType, id, versions.length);
    versions.push({ versionId, lastUpdated, interaction, resource: stored });
    await this.mirror(resourceType, id);
    this.record({ interaction, resource: stored, previous });
    return deepClone(stored);
  }

  /** Makes the search index hold exactly the current version of one resource (or nothing). */
  private async mirror(resourceType: string, id: string): Promise<void> {
    const current = this.current(resourceType, id);
    this.candidates.set(resourceType, id, current);
    if (current) this.writeOrder.set(`${resourceType}/${id}`, ++this.writeSeq);
    else this.writeOrder.delete(`${resourceType}/${id}`);
    await this.index.expungeResource(resourceType, id);
    if (current) {
      // Seeding keeps our versionId/lastUpdated instead of assigning new ones.
      await this.index.withSeeding(() => this.index.createResource(current));
    }
  }

  private pushUndo(resourceType: string, id: string, length: number): void {
    if (this.depth > 0) this.undoLog.push({ resourceType, id, length });
  }

  private async rollbackTo(mark: number): Promise<void> {
    const undone = this.undoLog.splice(mark).reverse();
    for (const { resourceType, id, length } of undone) {
      const byId = this.store.get(resourceType);
      const versions = byId?.get(id);
      if (!byId || !versions) continue;
      versions.length = length;
      if (length === 0) byId.delete(id);
      await this.mirror(resourceType, id);
    }
  }

  private record(event: WriteEvent): void {
    if (this.depth > 0) {
      this.pending.push(event);
    } else {
      this.emit([event]);
    }
  }

  private commit(): void {
    const events = this.pending;
    this.pending = [];
    this.undoLog = [];
    if (events.length) this.emit(events);
  }

  private emit(events: readonly WriteEvent[]): void {
    for (const listener of this.listeners) listener(events);
  }

  /** ISO timestamp, strictly increasing across the store so `_lastUpdated` polling never ties. */
  private nextTimestamp(): string {
    const now = Math.max(Date.now(), this.lastTimestamp + 1);
    this.lastTimestamp = now;
    return new Date(now).toISOString();
  }
}

function checkId(id: string): void {
  if (!isFhirId(id)) {
    throw new OperationOutcomeError(badRequest('Invalid resource id', 'id'));
  }
}

function clampCount(count: number): number {
  return Math.min(Math.max(0, count), DEFAULT_MAX_SEARCH_COUNT);
}

/** Rejects what the in-memory matcher cannot answer correctly instead of silently matching nothing. */
function checkSearchRequest(searchRequest: SearchRequest): void {
  const { resourceType } = searchRequest;
  validateResourceType(resourceType);
  const params = globalSchema.types[resourceType]?.searchParams ?? {};
  for (const filter of searchRequest.filters ?? []) {
    if (filter.code.includes('.') || filter.code.startsWith('_has:')) continue; // chained: MemoryRepository
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

/** Same content, ignoring the server-assigned meta.versionId / lastUpdated (Medplum's isNotModified). */
function sameContent(existing: Resource, incoming: Resource): boolean {
  return deepEquals(withoutServerMeta(existing), withoutServerMeta(incoming));
}

function withoutServerMeta(resource: Resource): Resource {
  if (!resource.meta) return resource;
  const { versionId: _v, lastUpdated: _l, ...meta } = resource.meta;
  const { meta: _m, ...rest } = resource;
  return Object.keys(meta).length ? ({ ...rest, meta } as Resource) : (rest as Resource);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
