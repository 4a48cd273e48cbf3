/**
 * The sandbox's versioned storage: every version of every resource (deletions as tombstones), the savepoints of
 * nested transactions (an undo log), the write events of the open unit and who hears them on commit, and a clock
 * whose timestamps strictly increase. No FHIR semantics here: memory-store.ts decides what a write means.
 */
import type { WithId } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';

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

export interface VersionRecord {
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

/** A mark to roll back to (see VersionStore.begin). */
export interface Savepoint {
  readonly undo: number;
  readonly events: number;
}

export class VersionStore {
  /** resourceType -> id -> versions, oldest first. */
  private readonly store = new Map<string, Map<string, VersionRecord[]>>();
  private readonly listeners = new Set<CommitListener>();
  private undoLog: UndoEntry[] = [];
  private pending: WriteEvent[] = [];
  private depth = 0;
  private lastTimestamp = 0;

  /** Registers a listener called synchronously with the writes of each committed unit. Returns an unsubscribe. */
  onCommit(listener: CommitListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Every version of one resource, oldest first (the live array: read only). */
  versions(resourceType: string, id: string): VersionRecord[] | undefined {
    return this.store.get(resourceType)?.get(id);
  }

  /** The current version, or undefined when the resource does not exist or is deleted. */
  current(resourceType: string, id: string): WithId<Resource> | undefined {
    return this.versions(resourceType, id)?.at(-1)?.resource;
  }

  /** The ids of one type that have versions. */
  ids(resourceType: string): Iterable<string> {
    return this.store.get(resourceType)?.keys() ?? [];
  }

  /** Number of current (not deleted) resources, all types. */
  countCurrent(): number {
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

  /** Appends a version (undoable inside a transaction). */
  append(resourceType: string, id: string, record: VersionRecord): void {
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
    if (this.depth > 0) this.undoLog.push({ resourceType, id, length: versions.length });
    versions.push(record);
  }

  /** Notes a write: queued until the outermost transaction commits, or heard at once outside one. */
  record(event: WriteEvent): void {
    if (this.depth > 0) this.pending.push(event);
    else this.emit([event]);
  }

  /** Opens a (nested) transaction; returns the savepoint to roll back to. */
  begin(): Savepoint {
    this.depth++;
    return { undo: this.undoLog.length, events: this.pending.length };
  }

  /** Closes a transaction; the outermost one hands its write events to the listeners. */
  commit(): void {
    this.depth--;
    if (this.depth > 0) return;
    const events = this.pending;
    this.pending = [];
    this.undoLog = [];
    if (events.length) this.emit(events);
  }

  /**
   * Undoes every write since the savepoint and closes the transaction.
   * @returns The resources whose versions changed ("Type/id" pairs), so their search index can be brought back.
   */
  rollback(savepoint: Savepoint): { resourceType: string; id: string }[] {
    const undone = this.undoLog.splice(savepoint.undo).reverse();
    for (const { resourceType, id, length } of undone) {
      const byId = this.store.get(resourceType);
      const versions = byId?.get(id);
      if (!byId || !versions) continue;
      versions.length = length;
      if (length === 0) byId.delete(id);
    }
    this.pending.length = savepoint.events;
    this.depth--;
    return undone.map(({ resourceType, id }) => ({ resourceType, id }));
  }

  /** ISO timestamp, strictly increasing across the store so `_lastUpdated` polling never ties. */
  nextTimestamp(): string {
    const now = Math.max(Date.now(), this.lastTimestamp + 1);
    this.lastTimestamp = now;
    return new Date(now).toISOString();
  }

  private emit(events: readonly WriteEvent[]): void {
    for (const listener of this.listeners) listener(events);
  }
}
