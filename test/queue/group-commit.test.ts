import { describe, expect, it } from 'vitest';
import { createGroupCommit, type JobRow, type PlannedJob } from '../../src/queue/group-commit.ts';
import type { JobKind } from '../../src/queue/jobs.ts';

const assess = (patientId: string, extra: Partial<PlannedJob> = {}): PlannedJob => ({
  kind: 'assess-patient',
  key: patientId,
  data: { patientId },
  ...extra,
});

/** An insert that records its batches and holds each one until released. */
function recordingInsert(existing: ReadonlySet<string> = new Set()) {
  const batches: Map<JobKind, JobRow[]>[] = [];
  const releases: (() => void)[] = [];
  let failNext: Error | undefined;
  const insertAll = async (rows: ReadonlyMap<JobKind, JobRow[]>): Promise<ReadonlySet<string>> => {
    batches.push(new Map(rows));
    await new Promise<void>((release) => releases.push(release));
    if (failNext) {
      const err = failNext;
      failNext = undefined;
      throw err;
    }
    // The queue already holds a waiting job for the keys in `existing`: those rows are skipped.
    return new Set(
      [...rows.values()]
        .flat()
        .filter((r) => !existing.has(r.singletonKey))
        .map((r) => r.id),
    );
  };
  return {
    insertAll,
    batches,
    release: () => releases.shift()?.(),
    failNextWith: (err: Error) => {
      failNext = err;
    },
  };
}

const settle = () => new Promise((r) => setTimeout(r, 0));

describe('group commit of enqueue calls', () => {
  it('commits the first call at once, and every call that arrives meanwhile together in the next commit', async () => {
    const db = recordingInsert();
    const group = createGroupCommit(db.insertAll);
    const first = group.commit([assess('p1')], 1);
    await settle();
    const later = [group.commit([assess('p2')], 1), group.commit([assess('p3'), assess('p4')], 2)];
    await settle();
    expect(db.batches).toHaveLength(1);
    db.release();
    expect(await first).toMatchObject({ queued: 1, coalesced: 0 });
    await settle();
    expect(db.batches).toHaveLength(2);
    expect(db.batches[1]!.get('assess-patient')!.map((r) => r.singletonKey)).toEqual(['p2', 'p3', 'p4']);
    db.release();
    expect(await Promise.all(later)).toMatchObject([
      { queued: 1, coalesced: 0 },
      { queued: 2, coalesced: 0 },
    ]);
  });

  it('inserts one row per key: the first call that names it; the others count it as coalesced', async () => {
    const db = recordingInsert();
    const group = createGroupCommit(db.insertAll);
    const blocker = group.commit([assess('p0')], 1);
    await settle();
    const a = group.commit([assess('p1', { startAfter: new Date(0) }), assess('p2')], 3);
    const b = group.commit([assess('p1'), assess('p3')], 2);
    db.release();
    await blocker;
    await settle();
    const rows = db.batches[1]!.get('assess-patient')!;
    expect(rows.map((r) => r.singletonKey)).toEqual(['p1', 'p2', 'p3']);
    expect(rows[0]!.startAfter).toEqual(new Date(0));
    db.release();
    const [ra, rb] = await Promise.all([a, b]);
    expect(ra).toMatchObject({ queued: 2, coalesced: 1 });
    expect(rb).toMatchObject({ queued: 1, coalesced: 1 });
    expect(ra.ids).toEqual([rows[0]!.id, rows[1]!.id]);
    expect(rb.ids).toEqual([rows[2]!.id]);
  });

  it('counts a job as coalesced when the queue already holds one waiting for its key', async () => {
    const db = recordingInsert(new Set(['busy']));
    const group = createGroupCommit(db.insertAll);
    const result = group.commit([assess('busy'), assess('free')], 2);
    await settle();
    db.release();
    expect(await result).toMatchObject({ queued: 1, coalesced: 1 });
  });

  it('groups the kinds of one call into one commit', async () => {
    const db = recordingInsert();
    const group = createGroupCommit(db.insertAll);
    const result = group.commit(
      [assess('p1'), { kind: 'catch-up', key: 's@1', data: { reason: 'event-gap', subscriptionId: 's' } }],
      2,
    );
    await settle();
    expect(db.batches).toHaveLength(1);
    expect([...db.batches[0]!.keys()]).toEqual(['assess-patient', 'catch-up']);
    db.release();
    expect(await result).toMatchObject({ queued: 2 });
  });

  it('fails every call of a failed commit, and commits the next calls afresh', async () => {
    const db = recordingInsert();
    const group = createGroupCommit(db.insertAll);
    const blocker = group.commit([assess('p0')], 1);
    await settle();
    const failing = [group.commit([assess('p1')], 1), group.commit([assess('p2')], 1)];
    db.release();
    await blocker;
    await settle();
    db.failNextWith(new Error('database down'));
    db.release();
    await expect(failing[0]).rejects.toThrow('database down');
    await expect(failing[1]).rejects.toThrow('database down');
    const after = group.commit([assess('p3')], 1);
    await settle();
    db.release();
    expect(await after).toMatchObject({ queued: 1 });
  });

  it('resolves a call with nothing to insert without a commit', async () => {
    const db = recordingInsert();
    const group = createGroupCommit(db.insertAll);
    expect(await group.commit([], 3)).toEqual({ queued: 0, coalesced: 3, ids: [] });
    expect(db.batches).toHaveLength(0);
  });
});
