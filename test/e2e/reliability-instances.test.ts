/**
 * Reliability end to end across processes' lifetimes, over real HTTP and PostgreSQL: a restart with jobs queued and
 * in flight, and two adapter instances sharing one schema behind one FHIR server. The FHIR server is the sandbox on
 * its own port (so both adapters see the same data); the test sends the notifications.
 */
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import type { FetchFn } from '../../src/fhir/client-factory.ts';
import type { RunningService } from '../../src/service/start-service.ts';
import {
  caseNames,
  expectAssessed,
  expectedOutcome,
  expectNothingWritten,
  inParallel,
  loadCase,
  loadCases,
  reportVersionCounts,
  shuffled,
  storedResources,
  type TestCase,
} from './cases.ts';
import {
  dropSchema,
  medplumNotification,
  type Notification,
  notify,
  POSTGRES_URL,
  patientRequest,
  type SandboxServer,
  startAdapter,
  startSandboxServer,
  uniqueSchema,
  waitFor,
  waitForQueueQuiet,
} from './harness.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function sandboxServer(): Promise<SandboxServer> {
  const fhir = await startSandboxServer();
  cleanups.push(() => fhir.close());
  return fhir;
}

function schemaFor(label: string): string {
  const schema = uniqueSchema(label);
  cleanups.push(() => dropSchema(schema));
  return schema;
}

async function adapter(options: Parameters<typeof startAdapter>[0]): Promise<RunningService> {
  const service = await startAdapter(options);
  cleanups.push(() => service.close());
  return service;
}

async function notificationsFor(fhir: SandboxServer, cases: readonly TestCase[]): Promise<Notification[]> {
  const out: Notification[] = [];
  for (const tc of cases) for (const r of await storedResources(fhir.repo, tc)) out.push(medplumNotification(r));
  return out;
}

async function send(url: string, n: Notification): Promise<void> {
  const res = await notify(url, n);
  expect(res.status, await res.clone().text()).toBe(200);
}
describe('reliability: restarts and several instances', () => {
  it('a restart with jobs queued and in flight: the new instance assesses every patient once', async () => {
    const fhir = await sandboxServer();
    const cases = [
      'responder',
      'pseudoprogression',
      'hyperprogression',
      'early-scan',
      'missing-target',
      'continued-pr',
    ].map((name) => loadCase(name));
    await loadCases(fhir.baseUrl, cases);
    const schema = schemaFor('restart');

    // Instance 1: once started, its FHIR requests hang until released (a server gone quiet).
    let mode: 'open' | 'hold' | 'down' = 'open';
    let survivor: string | undefined;
    const waiting: { patientId?: string; resolve: () => void; reject: (err: Error) => void }[] = [];
    const writesByFirst: string[] = [];
    const gated: FetchFn = async (url, init) => {
      const about = patientRequest(url, fhir.baseUrl, init);
      if (mode === 'hold') {
        await new Promise<void>((resolve, reject) => waiting.push({ patientId: about?.patientId, resolve, reject }));
      } else if (mode === 'down' && about?.patientId !== survivor) {
        throw new TypeError('fetch failed');
      }
      const res = await fetch(url, init);
      if (about?.kind === 'write') writesByFirst.push(about.patientId);
      return res;
    };
    const first = await startAdapter({
      fhirBaseUrl: fhir.baseUrl,
      schema,
      fetch: gated,
      env: { QUEUE_CONCURRENCY: '2' },
      // Attempts to spare: a job failed at shutdown may be fetched again (and fail) before the workers stop.
      queue: { retry: { attempts: 10, delaySeconds: 0, backoff: false }, pollingIntervalSeconds: 0.5 },
    });
    cleanups.push(() => first.close());
    mode = 'hold';
    const notifications = await notificationsFor(fhir, cases);
    await inParallel(shuffled(notifications, 42), 6, (n) => send(first.url, n));
    await waitFor(async () => waiting.length === 2 && (await first.queue.stats()).active === 2, 'two jobs in flight');
    const before = await first.queue.stats();
    expect(before.perKind['assess-patient'].queued).toBeGreaterThanOrEqual(4);

    // Shut down while two jobs run: as the queue stops, one in-flight request completes, the other fails (the
    // connection is lost), and so does anything else instance 1 still tries. What is left stays in PostgreSQL.
    const stop = first.queue.stop.bind(first.queue);
    first.queue.stop = async (options) => {
      const stopped = stop(options);
      mode = 'down';
      const [completing, ...failing] = waiting.splice(0);
      survivor = completing?.patientId;
      completing?.resolve();
      for (const w of failing) w.reject(new TypeError('fetch failed'));
      await stopped;
    };
    await first.close();
    expect(survivor).toBeDefined();
    expect(new Set(writesByFirst)).toEqual(new Set([survivor]));

    const db = new pg.Client({ connectionString: POSTGRES_URL });
    await db.connect();
    const { rows } = await db
      .query<{ key: string; state: string }>(
        `SELECT singleton_key AS key, state::text AS state FROM ${schema}.job WHERE name = 'assess-patient' AND state <> 'completed'`,
      )
      .finally(() => db.end());
    // Nothing is left running; the failed in-flight job waits for a retry, the others wait to run.
    expect(rows.every((r) => r.state === 'created' || r.state === 'retry')).toBe(true);
    expect(rows.some((r) => r.state === 'retry')).toBe(true);
    const pending = new Set(rows.map((r) => r.key));
    for (const tc of cases.filter((c) => c.patientId !== survivor)) {
      expect(pending.has(tc.patientId), tc.name).toBe(true);
      expectNothingWritten(fhir.repo, tc.patientId);
    }

    // Instance 2 on the same schema and the same FHIR server picks everything up.
    const second = await adapter({ fhirBaseUrl: fhir.baseUrl, schema });
    await waitForQueueQuiet(second.queue);
    for (const tc of cases) {
      expectAssessed(fhir.repo, tc);
      // Written once: every report has a single version, whoever wrote it and however often it was assessed.
      expect(await reportVersionCounts(fhir.repo, tc.patientId), tc.name).toEqual(
        Array(expectedOutcome(tc).reportIds.length).fill(1),
      );
    }
    expect(fhir.repo.listCurrent('Provenance')).toHaveLength(cases.length);
    expect(await second.queue.stats()).toMatchObject({ queued: 0, active: 0, failed: 0, deadLettered: 0 });
  });

  it('two instances on one schema: every patient right, none assessed by both at the same moment', async () => {
    const fhir = await sandboxServer();
    const cases = caseNames().flatMap((name) => [loadCase(name, 'a'), loadCase(name, 'b')]);
    await loadCases(fhir.baseUrl, cases);
    const schema = schemaFor('pair');

    // An assessment runs from its context read (which carries the searches for the adapter's earlier results) to its
    // answer (nothing changed: no write), or on to its write answered; a separate read of the earlier results (where
    // the context read could not give them all) moves the end as a write does. Requests out of that order within one
    // instance are recorded as anomalies.
    interface Interval {
      instance: string;
      patientId: string;
      start: number;
      end: number;
      wrote: boolean;
    }
    const intervals: Interval[] = [];
    const anomalies: string[] = [];
    const open = new Map<string, { start: number; phase: 'context' | 'answered' | 'earlier'; interval?: Interval }>();
    const recording =
      (instance: string): FetchFn =>
      async (url, init) => {
        const about = patientRequest(url, fhir.baseUrl, init);
        const key = `${instance}|${about?.patientId}`;
        const opened = open.get(key);
        if (about?.kind === 'read') {
          if (opened && opened.phase !== 'answered') anomalies.push(`${key}: read again mid-assessment`);
          open.set(key, { start: performance.now(), phase: 'context' });
          await new Promise((r) => setTimeout(r, 20)); // widen the window a double assessment would show in
        } else if (about?.kind === 'earlier') {
          if (opened?.phase !== 'answered') anomalies.push(`${key}: earlier results read outside an assessment`);
          else opened.phase = 'earlier';
        } else if (about?.kind === 'write' && opened?.phase !== 'answered') {
          anomalies.push(`${key}: written before its context and earlier results were answered`);
        }
        const res = await fetch(url, init);
        const now = open.get(key);
        if (about?.kind === 'read' && now?.phase === 'context') {
          now.phase = 'answered';
          now.interval = {
            instance,
            patientId: about.patientId,
            start: now.start,
            end: performance.now(),
            wrote: false,
          };
          intervals.push(now.interval);
        } else if (about?.kind === 'earlier' && opened?.phase === 'earlier' && opened.interval) {
          opened.phase = 'answered';
          opened.interval.end = performance.now();
        } else if (about?.kind === 'write' && opened?.interval) {
          opened.interval.end = performance.now();
          opened.interval.wrote = res.ok;
        }
        return res;
      };
    const a = await adapter({ fhirBaseUrl: fhir.baseUrl, schema, fetch: recording('a') });
    const b = await adapter({ fhirBaseUrl: fhir.baseUrl, schema, fetch: recording('b') });

    const notifications = shuffled(await notificationsFor(fhir, cases), 7);
    await inParallel(notifications, 8, (n, i) => send(i % 2 === 0 ? a.url : b.url, n));
    await waitForQueueQuiet(a.queue);

    for (const tc of cases) {
      expectAssessed(fhir.repo, tc);
      expect(await reportVersionCounts(fhir.repo, tc.patientId), tc.name).toEqual(
        Array(expectedOutcome(tc).reportIds.length).fill(1),
      );
    }
    expect(fhir.repo.listCurrent('Provenance')).toHaveLength(cases.length);
    expect(anomalies).toEqual([]);
    expect(
      [...open.entries()].filter(([, o]) => o.phase !== 'answered').map(([key]) => key),
      'every context read (and every earlier-results read apart) was answered',
    ).toEqual([]);
    expect(new Set(intervals.map((i) => i.instance))).toEqual(new Set(['a', 'b']));
    for (const tc of cases) {
      const mine = intervals.filter((i) => i.patientId === tc.patientId).sort((x, y) => x.start - y.start);
      // One assessment wrote the result (once: the version counts above); later ones found nothing to change.
      expect(mine.filter((i) => i.wrote).length, tc.name).toBe(1);
      for (const [k, interval] of mine.entries()) {
        const previous = mine[k - 1];
        if (previous) {
          expect(
            interval.start,
            `${tc.name}: ${previous.instance} and ${interval.instance} overlap`,
          ).toBeGreaterThanOrEqual(previous.end);
        }
      }
    }
    expect(await a.queue.stats()).toMatchObject({ queued: 0, active: 0, failed: 0, deadLettered: 0 });
    // About 20 s alone; two services and every notification of every case take longer on a busy machine.
  }, 90_000);
});
