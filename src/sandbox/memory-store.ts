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
 * Parts: version-store.ts (versions, savepoints, commit events, clock), repository-search.ts (search mirror,
 * searchset and history Bundles), write-preparation.ts (what every write goes through).
 * Errors are @medplum/core OperationOutcomeErrors: FhirRouter turns only those into their status.
 * https://hl7.org/fhir/R4/http.html
 */
import type { Operation, SearchRequest, WithId } from '@medplum/core';
import {
  applyPatch,
  badRequest,
  DEFAULT_SEARCH_COUNT,
  deepClone,
  fhirpathPatchTypedValue,
  generateId,
  gone,
  normalizeOperationOutcome,
  notFound,
  OperationOutcomeError,
  parseFhirPathPatchParameters,
  preconditionFailed,
  toTypedValue,
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
import { FhirRepository } from '@medplum/fhir-router';
import type { Bundle, Parameters, Reference, Resource } from '@medplum/fhirtypes';
import { checkSearchRequest, clampCount, historyBundle, SearchMirror, searchsetBundle } from './repository-search.ts';
import type { WriteGuard } from './subscription-exposure.ts';
import { type CommitListener, VersionStore } from './version-store.ts';
import { checkId, deepFreeze, prepareWrite, sameContent } from './write-preparation.ts';

export type { CommitListener, WriteEvent, WriteInteraction } from './version-store.ts';

export interface SandboxRepositoryOptions {
  /** Public URL of the FHIR base (e.g. http://127.0.0.1:8080/fhir/R4), used for fullUrl and paging links. */
  readonly baseUrl: string;
  /** Validate written resources against the base R4 definitions (default true). */
  readonly validate?: boolean;
  /** Checks every create and update after validation (subscription-exposure.ts: secrets, allowed endpoints). */
  readonly guardWrite?: WriteGuard;
}

const DEFAULT_HISTORY_COUNT = 100;

export class SandboxRepository extends FhirRepository {
  readonly baseUrl: string;
  private readonly validateWrites: boolean;
  private readonly guardWrite: WriteGuard;
  private readonly store = new VersionStore();
  private readonly mirror = new SearchMirror();

  constructor(options: SandboxRepositoryOptions) {
    super();
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.validateWrites = options.validate ?? true;
    this.guardWrite = options.guardWrite ?? ((incoming) => incoming);
  }

  /** Registers a listener called synchronously with the writes of each committed unit. Returns an unsubscribe. */
  onCommit(listener: CommitListener): () => void {
    return this.store.onCommit(listener);
  }

  setMode(_mode: RepositoryMode): void {
    // One store, no read replicas.
  }

  generateId(): string {
    return generateId();
  }

  /** Number of current (not deleted) resources, all types. */
  countResources(): number {
    return this.store.countCurrent();
  }

  /** The current versions of one type (no copies: read-only). */
  listCurrent<T extends Resource>(resourceType: T['resourceType']): WithId<T>[] {
    return this.store.listCurrent(resourceType);
  }

  /** The current version id, or undefined when the resource does not exist or is deleted. */
  currentVersionId(resourceType: string, id: string): string | undefined {
    return this.store.current(resourceType, id)?.meta?.versionId;
  }

  // ---------------------------------------------------------------- writes

  async createResource<T extends Resource>(resource: T, options?: CreateResourceOptions): Promise<WithId<T>> {
    validateResourceType(resource.resourceType);
    const id = options?.assignedId && resource.id ? resource.id : this.generateId();
    checkId(id);
    const incoming = this.guardWrite((await this.prepare({ ...resource, id })) as WithId<Resource>, undefined);
    if (this.store.versions(resource.resourceType, id)?.length) {
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
    const prepared = await this.prepare(resource);
    // No await from here to the write: the check and the write are atomic.
    const existing = this.store.current(resource.resourceType, resource.id);
    const incoming = this.guardWrite(prepared as WithId<Resource>, existing) as WithId<T>;
    if (options?.ifMatch) {
      if (!existing) throw new OperationOutcomeError(notFound);
      if (existing.meta?.versionId !== options.ifMatch) throw new OperationOutcomeError(preconditionFailed);
    }
    if (existing && sameContent(existing, incoming)) {
      this.store.record({ interaction: 'unchanged', resource: existing, previous: existing });
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
    const last = this.store.versions(resourceType, id)?.at(-1);
    if (!last) throw new OperationOutcomeError(notFound);
    if (!last.resource) return; // already deleted: deleting again succeeds (Medplum, HAPI)
    if (options?.ifMatch && last.versionId !== options.ifMatch) {
      throw new OperationOutcomeError(preconditionFailed);
    }
    const tombstone = {
      versionId: this.generateId(),
      lastUpdated: this.store.nextTimestamp(),
      interaction: 'delete',
    } as const;
    this.store.append(resourceType, id, tombstone);
    await this.reindex(resourceType, id);
    this.store.record({ interaction: 'delete', resource: last.resource, previous: last.resource });
  }

  /**
   * Runs the callback as a savepoint: if it throws, every write it made is undone and the error rethrown.
   * The outermost successful call commits and hands its write events to the commit listeners.
   */
  async withTransaction<TResult>(
    callback: (txRepo: this) => Promise<TResult>,
    _options?: TransactionOptions,
  ): Promise<TResult> {
    const savepoint = this.store.begin();
    let result: TResult;
    try {
      result = await callback(this);
    } catch (err) {
      for (const { resourceType, id } of this.store.rollback(savepoint)) await this.reindex(resourceType, id);
      throw err;
    }
    this.store.commit();
    return result;
  }

  // ---------------------------------------------------------------- reads

  async readResource<T extends Resource>(resourceType: string, id: string): Promise<WithId<T>> {
    validateResourceType(resourceType);
    const last = this.store.versions(resourceType, id)?.at(-1);
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
    const version = this.store.versions(resourceType, id)?.find((v) => v.versionId === vid);
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
    const versions = this.store.versions(resourceType, id);
    if (!versions?.length) throw new OperationOutcomeError(notFound);
    const count = clampCount(options?.limit ?? DEFAULT_HISTORY_COUNT);
    const offset = Math.max(0, options?.offset ?? 0);
    return historyBundle(this.baseUrl, resourceType, id, versions, { count, offset });
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
    const request = { ...searchRequest, count, offset };
    const type = request.resourceType;
    const page = await this.mirror.search(this, request, (id) => this.store.current(type, id), this.store.ids(type));
    return searchsetBundle(this.baseUrl, request, page);
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

  private prepare<T extends Resource>(resource: T): Promise<WithId<T>> {
    return prepareWrite(resource, (request) => this.searchResources(request), this.validateWrites);
  }

  private async writeVersion(
    incoming: WithId<Resource>,
    interaction: 'create' | 'update',
    previous: WithId<Resource> | undefined,
  ): Promise<WithId<Resource>> {
    const { resourceType, id } = incoming;
    const versionId = this.generateId();
    const lastUpdated = this.store.nextTimestamp();
    const { resourceType: _t, id: _i, meta, ...rest } = incoming;
    const stored = deepFreeze({
      resourceType,
      id,
      meta: { ...meta, versionId, lastUpdated },
      ...rest,
    } as WithId<Resource>);
    this.store.append(resourceType, id, { versionId, lastUpdated, interaction, resource: stored });
    await this.reindex(resourceType, id);
    this.store.record({ interaction, resource: stored, previous });
    return deepClone(stored);
  }

  /** Makes the search mirror hold exactly the current version of one resource (or nothing). */
  private reindex(resourceType: string, id: string): Promise<void> {
    return this.mirror.set(resourceType, id, this.store.current(resourceType, id));
  }
}
