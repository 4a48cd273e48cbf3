import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OutcomeError } from '../../src/fhir-model/outcomes.ts';
import type { Database } from '../../src/queue/database.ts';
import { openDatabase } from '../../src/queue/database.ts';
import type { JobContext, JobQueue, JobQueueOptions, JobRequest } from '../../src/queue/job-queue.ts';
import { createJobQueue } from '../../src/queue/job-queue.ts';
import type { TestTarget } from './backends.ts';
import { BACKENDS, sleep, waitFor } from './backends.ts';

/** Tiny delays: no backoff, retries at once, idle workers poll every 0.5 s. */
const FAST: JobQueueOptions = {
  pollingIntervalSeconds: 0.5,
  retry: { attempts: 3, delaySeconds: 0, backoff: false },
};

const CRASH_FIXTURE = fileURLToPath(new URL('./fixtures/enqueue-then-hang.ts', import.meta.url));

const assess = (patientId: string): JobRequest => ({ kind: 'assess-patient', patientId });

describe.each(BACKENDS.map((b) => [b.name, b] as const))('job queue on %s', (_name, backend) => {
  let target: TestTarget;
  let db: Database;
  const queues: JobQueue[] = [];

  const open = async (options: JobQueueOptions = FAST): Promise<JobQueue> => {
    const queue = await createJobQueue(db, options);
    queues.push(queue);
    return queue;
  };
  const idle = async (queue: JobQueue): Promise<boolean> => {
    const stats = await queue.stats();
    return stats.queued === 0 && stats.active === 0;
  };

  beforeEach(async () => {
    target = await backend.create();
    db = await openDatabase(target.options);
  });

  afterEach(async () => {
    await Promise.all(queues.splice(0).map((q) => q.stop({ graceful: false })));
    await db?.close();
    await target?.dispose();
  });

  it.skipIf(!backend.available)('coalesces a burst for one patient into one queued assessment', async () => {
    const queue = await open();
    const results = await Promise.all(Array.from({ length: 100 }, () => queue.enqueue([assess('p1')])));
    expect(results.reduce((n, r) => n + r.queued, 0)).toBe(1);
    expect(results.reduce((n, r) => n + r.coalesced, 0)).toBe(99);
    const batch = await queue.enqueue([assess('p1'), assess('p1'), assess('p2')]);
    expect(batch).toMatchObject({ queued: 1, coalesced: 2 });
    const stats = await queue.stats();
    expect(stats.perKind['assess-patient'].queued).toBe(2);
    expect(stats.queued).toBe(2);
  });

  it.skipIf(!backend.available)(
    'runs at most two assessments for a burst of 100 while it is being worked',
    async () => {
      const queue = await open();
      const runs: string[] = [];
      await queue.work(
        'assess-patient',
        async ({ patientId }) => {
          runs.push(patientId);
          await sleep(1_000);
        },
        { concurrency: 4 },
      );
      await Promise.all(Array.from({ length: 100 }, () => queue.enqueue([assess('p1')])));
      await waitFor(() => idle(queue), 'queue drained');
      expect(runs.length).toBeGreaterThanOrEqual(1);
      expect(runs.length).toBeLessThanOrEqual(2);
    },
  );

  it.skipIf(!backend.available)(
    'never assesses one patient twice at once across two instances, follows up on notifications that arrive mid-run, and runs different patients in parallel',
    async () => {
      const first = await open();
      const second = await open();
      const intervals: { patientId: string; start: number; end: number; instance: number }[] = [];
      const enqueued: { patientId: string; at: number }[] = [];
      const handler =
        (instance: number) =>
        async ({ patientId }: { patientId: string }) => {
          const start = performance.now();
          await sleep(200);
          intervals.push({ patientId, start, end: performance.now(), instance });
        };
      await first.work('assess-patient', handler(1), { concurrency: 3 });
      await second.work('assess-patient', handler(2), { concurrency: 3 });

      const patients = ['p1', 'p2', 'p3'];
      for (let round = 0; round < 6; round++) {
        for (const patientId of patients) {
          enqueued.push({ patientId, at: performance.now() });
          await (round % 2 ? second : first).enqueue([assess(patientId)]);
        }
        await sleep(120);
      }
      await waitFor(async () => (await idle(first)) && (await idle(second)), 'both drained', 20_000);

      for (const patientId of patients) {
        const mine = intervals.filter((i) => i.patientId === patientId).sort((a, b) => a.start - b.start);
        expect(mine.length).toBeGreaterThanOrEqual(2);
        for (let i = 1; i < mine.length; i++) expect(mine[i]!.start).toBeGreaterThanOrEqual(mine[i - 1]!.end);
        // Nothing missed: every notification is followed by an assessment that starts after it.
        for (const e of enqueued.filter((x) => x.patientId === patientId)) {
          expect(mine.some((i) => i.start >= e.at)).toBe(true);
        }
      }
      const parallel = intervals.some((a) =>
        intervals.some((b) => a.patientId !== b.patientId && a.start < b.end && b.start < a.end),
      );
      expect(parallel).toBe(true);
    },
  );

  it.skipIf(!backend.available)(
    'takes the next job as soon as it finishes one, whatever the polling interval',
    async () => {
      // Idle workers would look again only after a minute: the backlog drains because a worker that finished a job
      // fetches the next one at once.
      const queue = await open({ ...FAST, pollingIntervalSeconds: 60 });
      await queue.enqueue(Array.from({ length: 30 }, (_, i) => assess(`n${i}`)));
      const handled: string[] = [];
      await queue.work('assess-patient', async ({ patientId }) => void handled.push(patientId), { concurrency: 2 });
      await waitFor(() => handled.length === 30, 'backlog drained without polling', 20_000);
      expect(new Set(handled).size).toBe(30);
    },
  );

  it.skipIf(!backend.available)('grows its concurrency while a backlog waits and the latency holds', async () => {
    const queue = await open();
    let running = 0;
    let most = 0;
    await queue.enqueue(Array.from({ length: 150 }, (_, i) => assess(`g${i}`)));
    await queue.work(
      'assess-patient',
      async () => {
        most = Math.max(most, ++running);
        await sleep(10);
        running--;
      },
      { concurrency: 1, maxConcurrency: 4 },
    );
    await waitFor(() => idle(queue), 'backlog drained', 30_000);
    expect(most).toBeGreaterThan(1);
    expect(most).toBeLessThanOrEqual(4);
  });

  it.skipIf(!backend.available)('runs fewer jobs at once after the server says it is overloaded', async () => {
    const queue = await open();
    let running = 0;
    let overloaded = true;
    const atOnce: number[] = [];
    await queue.enqueue(Array.from({ length: 60 }, (_, i) => assess(`o${i}`)));
    await queue.work(
      'assess-patient',
      async () => {
        atOnce.push(++running);
        await sleep(50);
        running--;
        if (overloaded) throw new Error('429');
      },
      { concurrency: 8, minConcurrency: 1, maxConcurrency: 8, isOverload: (err) => String(err).includes('429') },
    );
    expect(queue.concurrency()).toEqual({ 'assess-patient': 8 });
    await waitFor(() => atOnce.length >= 8, 'first jobs refused');
    // The first refusal halves the limit; the refusals of the same moment do not halve it again.
    await waitFor(() => (queue.concurrency()['assess-patient'] ?? 8) < 8, 'concurrency lowered');
    expect(queue.concurrency()['assess-patient']).toBeLessThanOrEqual(4);
    expect(Math.max(...atOnce)).toBe(8);
    overloaded = false;
    await waitFor(() => idle(queue), 'all done once the server is back', 30_000);
  });

  it.skipIf(!backend.available)(
    'commits the calls that arrive together in one commit, and the kinds of one call in one commit',
    async () => {
      const queue = await open();
      const results = await Promise.all(Array.from({ length: 40 }, (_, i) => queue.enqueue([assess(`c${i}`)])));
      expect(results.every((r) => r.queued === 1 && r.ids.length === 1)).toBe(true);
      await queue.enqueue([
        assess('mixed'),
        { kind: 'catch-up', reason: 'event-gap', subscriptionId: 's1', sinceEventNumber: 3 },
        { kind: 'resolve-resource', resourceType: 'Observation', id: 'o9', deleted: false },
      ]);
      // Rows of one commit carry its transaction's start as created_on (pg-boss's job_now()).
      const commits = async (where: string) =>
        (
          await db.query<{ commits: number; rows: number }>(
            `SELECT count(DISTINCT created_on)::int AS commits, count(*)::int AS rows FROM ${db.schema}.job WHERE ${where}`,
          )
        ).rows[0]!;
      const grouped = await commits(`name = 'assess-patient' AND singleton_key LIKE 'c%'`);
      expect(grouped.rows).toBe(40);
      expect(grouped.commits).toBeLessThan(40);
      expect(await commits(`singleton_key IN ('mixed', 's1@3', 'Observation/o9') AND name <> 'dead-letter'`)).toEqual({
        commits: 1,
        rows: 3,
      });
    },
  );

  it.skipIf(!backend.available)("runs another sender's job before the rest of a flood", async () => {
    const queue = await open();
    await queue.enqueue(
      Array.from({ length: 30 }, (_, i) => assess(`flood${i}`)),
      { sender: 'busy-server' },
    );
    await queue.enqueue([assess('other')], { sender: 'quiet-server' });
    const order: string[] = [];
    await queue.work('assess-patient', async ({ patientId }) => void order.push(patientId));
    await waitFor(() => order.length === 31, 'all run');
    expect(order.indexOf('other')).toBeLessThanOrEqual(1);
    expect(order.filter((p) => p.startsWith('flood'))).toEqual(Array.from({ length: 30 }, (_, i) => `flood${i}`));
  });

  it.skipIf(!backend.available)('retries a failing job with backoff until it succeeds', async () => {
    const queue = await open({ ...FAST, retry: { attempts: 3, delaySeconds: 1, backoff: true, maxDelaySeconds: 1 } });
    const attempts: { attempt: number; attempts: number; at: number }[] = [];
    await queue.work('resolve-resource', async (_payload, context: JobContext) => {
      attempts.push({ attempt: context.attempt, attempts: context.attempts, at: performance.now() });
      if (context.attempt < 3) throw new Error('transient');
    });
    await queue.enqueue([{ kind: 'resolve-resource', resourceType: 'Observation', id: 'o1', deleted: false }]);
    await waitFor(() => attempts.length === 3 && idle(queue), 'third attempt succeeded', 20_000);
    expect(attempts.map((a) => a.attempt)).toEqual([1, 2, 3]);
    expect(attempts.every((a) => a.attempts === 3)).toBe(true);
    expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(900);
    const stats = await queue.stats();
    expect(stats).toMatchObject({ queued: 0, active: 0, failed: 0, deadLettered: 0 });
  });

  it.skipIf(!backend.available)(
    'folds a failure into the pending retry of the same patient instead of dead-lettering it',
    async () => {
      const queue = await open({ ...FAST, retry: { attempts: 3, delaySeconds: 1, backoff: false } });
      const runs: { attempt: number; failed: boolean }[] = [];
      let failing = true;
      await queue.work('assess-patient', async (_payload, { attempt }) => {
        runs.push({ attempt, failed: failing });
        if (failing) throw new Error('down');
      });
      await queue.enqueue([assess('r1')]);
      await waitFor(async () => (await queue.stats()).retrying === 1, 'first job waiting for its retry');
      await queue.enqueue([assess('r1')]);
      await waitFor(() => runs.length === 2, 'second job ran while the first waits');
      failing = false;
      await waitFor(() => runs.length === 3 && idle(queue), 'retry ran', 10_000);
      expect(runs).toEqual([
        { attempt: 1, failed: true },
        { attempt: 1, failed: true },
        { attempt: 2, failed: false },
      ]);
      expect(await queue.stats()).toMatchObject({ queued: 0, failed: 0, deadLettered: 0 });
    },
  );

  it.skipIf(!backend.available)('dead-letters a job after its last attempt, and replays it', async () => {
    const queue = await open();
    let healthy = false;
    const runs: number[] = [];
    await queue.work('assess-patient', async (_payload, context) => {
      runs.push(context.attempt);
      if (!healthy) throw new Error('FHIR server down');
    });
    await queue.enqueue([assess('p9')]);
    await waitFor(async () => (await queue.stats()).deadLettered === 1, 'dead-lettered');
    expect(runs).toEqual([1, 2, 3]);

    const stats = await queue.stats();
    expect(stats).toMatchObject({ queued: 0, active: 0, failed: 1, deadLettered: 1 });
    expect(stats.perKind['assess-patient']).toMatchObject({ failed: 1, deadLettered: 1 });
    const letters = await queue.listDeadLetters();
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ kind: 'assess-patient', payload: { patientId: 'p9' }, attempts: 3 });
    expect(letters[0]!.error).toBe('FHIR server down');
    expect(await queue.listDeadLetters({ kind: 'catch-up' })).toEqual([]);

    expect(await queue.replayDeadLetters({ kind: 'catch-up' })).toBe(0);
    expect(await queue.replayDeadLetters({ patientId: 'someone-else' })).toBe(0);
    healthy = true;
    expect(await queue.replayDeadLetters({ patientId: 'p9' })).toBe(1);
    await waitFor(() => runs.length === 4 && idle(queue), 'replayed job ran');
    expect(runs[3]).toBe(1);
    expect(await queue.stats()).toMatchObject({ queued: 0, deadLettered: 0 });
    expect(await queue.listDeadLetters()).toEqual([]);
  });

  it.skipIf(!backend.available)('drops a dead letter once a newer job of the same patient waits', async () => {
    const failing = await open({ ...FAST, maintenanceIntervalSeconds: 1 });
    await failing.work('assess-patient', async () => {
      throw new Error('FHIR server down');
    });
    await failing.enqueue([assess('p7'), assess('p8')]);
    await waitFor(async () => (await failing.stats()).deadLettered === 2, 'dead-lettered');
    await failing.stop();

    // A new notification for p7 (nobody works it yet): its dead letter is superseded, p8's stays.
    const queue = await open({ ...FAST, maintenanceIntervalSeconds: 1 });
    await queue.enqueue([assess('p7')]);
    await waitFor(async () => (await queue.stats()).deadLettered === 1, 'superseded dead letter dropped');
    expect((await queue.listDeadLetters()).map((l) => l.payload)).toEqual([{ patientId: 'p8' }]);
    expect((await queue.stats()).queued).toBe(1);
  });

  it.skipIf(!backend.available)('loses and doubles nothing across a restart with jobs queued', async () => {
    const producer = await open();
    const jobs: JobRequest[] = [
      ...Array.from({ length: 20 }, (_, i) => assess(`p${i}`)),
      { kind: 'resolve-resource', resourceType: 'Observation', id: 'o1', deleted: true },
      { kind: 'catch-up', reason: 'event-gap', subscriptionId: 's1', sinceEventNumber: 41 },
    ];
    expect(await producer.enqueue(jobs)).toMatchObject({ queued: 22, coalesced: 0 });
    await producer.stop();
    await db.close();

    db = await openDatabase(target.options);
    const consumer = await open();
    expect((await consumer.stats()).queued).toBe(22);
    const handled: string[] = [];
    await consumer.work('assess-patient', async ({ patientId }) => void handled.push(patientId), { concurrency: 5 });
    await consumer.work('resolve-resource', async (p) => void handled.push(`${p.resourceType}/${p.id}/${p.deleted}`));
    await consumer.work('catch-up', async (p) => void handled.push(`${p.subscriptionId}@${p.sinceEventNumber}`));
    await waitFor(() => idle(consumer), 'all handled');
    await sleep(700);
    expect(handled.sort()).toEqual(
      [...Array.from({ length: 20 }, (_, i) => `p${i}`), 'Observation/o1/true', 's1@41'].sort(),
    );
  });

  it.skipIf(!backend.available)('keeps what enqueue acknowledged when the process is killed right after', async () => {
    await db.close();
    const child = spawn(process.execPath, [CRASH_FIXTURE, JSON.stringify(target.options)], {
      env: process.env,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const acknowledged = await new Promise<string>((done, fail) => {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const line = out.split('\n').find((l) => l.startsWith('ENQUEUED '));
        if (line) done(line.slice('ENQUEUED '.length));
      });
      child.once('exit', (code) => fail(new Error(`child exited early: ${code}`)));
    });
    const exited = new Promise((done) => child.once('exit', done));
    child.kill('SIGKILL');
    await exited;
    expect(JSON.parse(acknowledged)).toMatchObject({ queued: 10 });

    db = await openDatabase(target.options);
    const queue = await open();
    expect((await queue.stats()).queued).toBe(10);
  });

  it.skipIf(!backend.available)('reports queued, active, failed and dead-lettered per kind', async () => {
    const queue = await open({ ...FAST, retry: { attempts: 1 } });
    const empty = { queued: 0, retrying: 0, active: 0, failed: 0, deadLettered: 0 };
    expect(await queue.stats()).toEqual({
      ...empty,
      perKind: { 'assess-patient': empty, 'resolve-resource': empty, 'catch-up': empty },
    });
    await queue.enqueue([
      assess('a'),
      assess('b'),
      { kind: 'catch-up', reason: 'poll' },
      { kind: 'resolve-resource', resourceType: 'Patient', id: 'x', deleted: false },
      { kind: 'resolve-resource', resourceType: 'Patient', id: 'x', deleted: true },
    ]);
    let stats = await queue.stats();
    expect(stats.queued).toBe(5);
    expect(stats.perKind['assess-patient'].queued).toBe(2);
    expect(stats.perKind['resolve-resource'].queued).toBe(2);
    expect(stats.perKind['catch-up'].queued).toBe(1);

    let release: () => void = () => undefined;
    const held = new Promise<void>((done) => {
      release = done;
    });
    await queue.work('assess-patient', () => held);
    await queue.work('catch-up', async () => {
      throw new Error('no');
    });
    await waitFor(async () => {
      stats = await queue.stats();
      return stats.perKind['assess-patient'].active === 1 && stats.perKind['catch-up'].deadLettered === 1;
    }, 'one active, one dead-lettered');
    expect(stats.perKind['catch-up']).toMatchObject({ queued: 0, failed: 1, deadLettered: 1 });
    expect(stats.perKind['assess-patient']).toMatchObject({ queued: 1, active: 1 });
    expect(stats).toMatchObject({ queued: 3, active: 1, failed: 1, deadLettered: 1 });
    release();
    await waitFor(async () => (await queue.stats()).perKind['assess-patient'].queued === 0, 'assessments done');
  });

  it.skipIf(!backend.available)('stops gracefully: a running job finishes before stop resolves', async () => {
    const queue = await open();
    let finished = false;
    let started = false;
    await queue.work('assess-patient', async () => {
      started = true;
      await sleep(600);
      finished = true;
    });
    await queue.enqueue([assess('g1')]);
    await waitFor(() => started, 'job started');
    await queue.stop({ graceful: true, timeoutMs: 10_000 });
    expect(finished).toBe(true);
    const observer = await open();
    expect(await observer.stats()).toMatchObject({ queued: 0, active: 0, failed: 0 });
  });

  it.skipIf(!backend.available)(
    'stops gracefully: a job still running at the timeout goes back to the queue',
    async () => {
      const queue = await open();
      let aborted = false;
      await queue.work('assess-patient', async (_payload, { signal }) => {
        await new Promise<void>((done) => signal.addEventListener('abort', () => done(), { once: true }));
        aborted = true;
      });
      await queue.enqueue([assess('g2')]);
      await waitFor(async () => (await queue.stats()).active === 1, 'job running');
      await queue.stop({ graceful: true, timeoutMs: 1_000 });
      await waitFor(() => aborted, 'handler aborted', 2_000);

      const next = await open();
      expect(await next.stats()).toMatchObject({ queued: 1, retrying: 1, active: 0 });
      const handled: { patientId: string; attempt: number }[] = [];
      await next.work(
        'assess-patient',
        async ({ patientId }, { attempt }) => void handled.push({ patientId, attempt }),
      );
      await waitFor(() => handled.length === 1 && idle(next), 'returned job handled');
      expect(handled).toEqual([{ patientId: 'g2', attempt: 2 }]);
    },
  );

  it.skipIf(!backend.available)('rejects an invalid job and queues nothing from that call', async () => {
    const queue = await open();
    const bad = [assess('ok'), { kind: 'assess-patient', patientId: 'has space' }] as JobRequest[];
    const error = await queue.enqueue(bad).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OutcomeError);
    expect((error as OutcomeError).status).toBe(400);
    expect((error as OutcomeError).outcome.issue?.[0]?.expression).toEqual(['1.patientId']);
    await expect(queue.enqueue([{ kind: 'nope' } as unknown as JobRequest])).rejects.toBeInstanceOf(OutcomeError);
    expect((await queue.stats()).queued).toBe(0);
  });
});
