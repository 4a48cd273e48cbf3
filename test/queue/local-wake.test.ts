/**
 * On PGlite (one process owns the database) a commit of runnable jobs wakes as many idle slots as it queued jobs,
 * not every slot of the queue: pg-boss's NOTIFY woke all of them, and on PGlite each empty fetch ran on the event loop
 * ahead of the intake's commits (src/queue/local-wake.ts). The fetches are counted at the database adapter pg-boss
 * runs its statements through.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../src/queue/database.ts';
import { openDatabase } from '../../src/queue/database.ts';
import type { JobQueue, JobRequest } from '../../src/queue/job-queue.ts';
import { createJobQueue } from '../../src/queue/job-queue.ts';
import { pglite, sleep, type TestTarget, waitFor } from './backends.ts';

const assess = (patientId: string): JobRequest => ({ kind: 'assess-patient', patientId });
const IS_FETCH = /^\s*WITH\s+next\s+AS\b/;

/** The database, with pg-boss's statements that fetch assess-patient jobs counted. */
function countingFetches(db: Database): { db: Database; fetches: () => number } {
  let fetches = 0;
  const counted: Database = {
    ...db,
    bossConnection(options) {
      const connection = db.bossConnection(options) as { db?: { executeSql: (t: string, v?: unknown[]) => unknown } };
      const adapter = connection.db;
      if (adapter) {
        const executeSql = adapter.executeSql.bind(adapter);
        adapter.executeSql = (text, values) => {
          if (IS_FETCH.test(text)) fetches++;
          return executeSql(text, values);
        };
      }
      return connection as ReturnType<Database['bossConnection']>;
    },
  };
  return { db: counted, fetches: () => fetches };
}

describe('waking idle workers on PGlite', () => {
  let target: TestTarget;
  let db: Database;
  let queue: JobQueue | undefined;

  beforeEach(async () => {
    target = await pglite.create();
    db = await openDatabase(target.options);
  });

  afterEach(async () => {
    await queue?.stop({ graceful: false });
    await db?.close();
    await target?.dispose();
  });

  it('a job queued on its own wakes one of four idle slots, not all four', async () => {
    const counting = countingFetches(db);
    // Idle slots would look for jobs only once a minute: every fetch below is a wake-up.
    queue = await createJobQueue(counting.db, { pollingIntervalSeconds: 60 });
    const handled: string[] = [];
    await queue.work('assess-patient', async ({ patientId }) => void handled.push(patientId), { concurrency: 4 });
    await sleep(500);
    const before = counting.fetches();
    for (let i = 0; i < 10; i++) {
      await queue.enqueue([assess(`p${i}`)]);
      await waitFor(() => handled.length === i + 1, `job ${i} handled`, 5_000);
    }
    await sleep(300);
    // Per job: the woken slot's fetch, and its fetch again once the job is done. NOTIFY made it five (four woken).
    expect(counting.fetches() - before).toBeLessThanOrEqual(25);
    expect(handled).toEqual(Array.from({ length: 10 }, (_, i) => `p${i}`));
  });

  it('jobs queued together wake as many slots, which run them at once', async () => {
    queue = await createJobQueue(db, { pollingIntervalSeconds: 60 });
    let running = 0;
    let most = 0;
    await queue.work(
      'assess-patient',
      async () => {
        running++;
        most = Math.max(most, running);
        await sleep(400);
        running--;
      },
      { concurrency: 4 },
    );
    await sleep(500);
    await queue.enqueue(['a', 'b', 'c', 'd'].map(assess));
    await waitFor(async () => (await queue?.stats())?.queued === 0 && running === 0, 'all four handled', 5_000);
    expect(most).toBe(4);
  });
});
