/**
 * One assessment per patient at a time, across processes: three processes work one PostgreSQL queue with adaptive
 * concurrency (test/queue/fixtures/work-and-record.ts) while bursts of notifications for a few patients keep coming;
 * every run is recorded with the database's clock, and no two runs of one patient may overlap.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, openDatabase } from '../../src/queue/database.ts';
import { createJobQueue, type JobQueue } from '../../src/queue/job-queue.ts';
import { postgres, sleep, type TestTarget, waitFor } from './backends.ts';

const WORKER = fileURLToPath(new URL('./fixtures/work-and-record.ts', import.meta.url));
const PATIENTS = ['x1', 'x2', 'x3', 'x4', 'x5', 'x6'];
const ROUNDS = 25;

describe.skipIf(!postgres.available)('one assessment per patient at a time, across processes', () => {
  let target: TestTarget;
  let db: Database;
  let producer: JobQueue;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    target = await postgres.create();
    db = await openDatabase(target.options);
    producer = await createJobQueue(db);
    await db.query(
      `CREATE TABLE ${target.options.schema}.runs (id serial PRIMARY KEY, patient text NOT NULL, pid int NOT NULL,
        started timestamptz NOT NULL, ended timestamptz)`,
    );
    for (let i = 0; i < 3; i++) {
      const child = spawn(process.execPath, [WORKER, JSON.stringify(target.options), `${target.options.schema}.runs`], {
        env: process.env,
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      children.push(child);
      await new Promise<void>((ready, fail) => {
        child.stdout?.on('data', (chunk: Buffer) => chunk.toString().includes('READY') && ready());
        child.once('exit', (code) => fail(new Error(`worker exited early: ${code}`)));
      });
    }
  });

  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await producer?.stop({ graceful: false });
    await db?.close();
    await target?.dispose();
  });

  it('never runs two assessments of one patient at once, misses no notification, and runs patients in parallel', async () => {
    const sent: { patient: string; at: Date }[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      for (const patient of PATIENTS) {
        const { rows } = await db.query<{ now: Date }>('SELECT clock_timestamp() AS now');
        await producer.enqueue([{ kind: 'assess-patient', patientId: patient }]);
        sent.push({ patient, at: rows[0]!.now });
      }
      await sleep(20 + (round % 3) * 30);
    }
    await waitFor(
      async () => {
        const stats = await producer.stats();
        return stats.queued === 0 && stats.active === 0;
      },
      'queue drained',
      60_000,
    );

    const runs = (
      await db.query<{ patient: string; pid: number; started: Date; ended: Date | null }>(
        `SELECT patient, pid, started, ended FROM ${target.options.schema}.runs ORDER BY started`,
      )
    ).rows;
    expect(runs.every((r) => r.ended !== null)).toBe(true);
    for (const patient of PATIENTS) {
      const mine = runs.filter((r) => r.patient === patient);
      for (let i = 1; i < mine.length; i++) expect(mine[i]!.started >= mine[i - 1]!.ended!).toBe(true);
      // Nothing missed: after the last notification of the patient (sent after `at`), a run of it started.
      const lastSent = sent.filter((s) => s.patient === patient).at(-1)!;
      expect(mine.at(-1)!.started >= lastSent.at).toBe(true);
    }
    // The test can fail: work was spread over the processes, and different patients did overlap.
    expect(new Set(runs.map((r) => r.pid)).size).toBeGreaterThanOrEqual(2);
    const parallel = runs.some((a) =>
      runs.some((b) => a.patient !== b.patient && a.started < b.ended! && b.started < a.ended!),
    );
    expect(parallel).toBe(true);
  });
});
