/**
 * Reliability end to end when the FHIR server misbehaves, over real HTTP and PostgreSQL: the adapter's FHIR fetch
 * (startService options.fetch) answers 503/500 for a while, for good, or mangles a transaction; the sandbox on its own
 * port is the real server behind it. The job must be retried and end right, be dead-lettered (visible in /readyz and
 * /metrics) and replayed, and a failed transaction must leave nothing behind.
 */
import type { Bundle, Patient } from '@medplum/fhirtypes';
import { afterEach, describe, expect, it } from 'vitest';
import type { FetchFn } from '../../src/fhir/client-factory.ts';
import type { RunningService } from '../../src/service/start-service.ts';
import {
  expectAssessed,
  expectedOutcome,
  expectNothingWritten,
  loadCase,
  loadCases,
  reportVersionCounts,
  serverOutcome,
  type TestCase,
} from './cases.ts';
import {
  dropSchema,
  medplumNotification,
  metricValue,
  notify,
  patientRequest,
  type SandboxServer,
  startAdapter,
  startSandboxServer,
  uniqueSchema,
  waitFor,
  waitForQueueQuiet,
} from './harness.ts';

/** What the faulty fetch does to one request about a patient; undefined = pass it through. */
type Fault =
  | { kind: 'answer'; status: number; headers?: Record<string, string> }
  /** Send the request, then lose the response (the write is committed, the adapter sees a connection failure). */
  | { kind: 'lose-response' }
  /** Send it, then report one entry of the (committed) transaction as failed: a non-atomic server's partial failure. */
  | { kind: 'entry-failed'; status: string }
  /** Add an entry that fails at the end of the transaction (If-Match on a version that does not exist). */
  | { kind: 'failing-entry' };

interface Env {
  fhir: SandboxServer;
  adapter: RunningService;
  schema: string;
  /** Faults to apply, per patient and request kind, in order; a `forever` fault is never used up. */
  faults: Map<string, { fault: Fault; forever?: boolean }[]>;
  /**
   * Every context read (which carries the searches for the adapter's earlier results), separate read of earlier
   * results (none in the worker unless the context read could not give them all) and result write the adapter
   * attempted, with the time and what was done to it.
   */
  log: { kind: Kind; patientId: string; at: number; fault?: Fault['kind']; status?: number }[];
  /** Called right after a faulty write was answered (to look at the server in that instant). */
  afterFaultyWrite?: (patientId: string) => void;
}

/** The adapter's requests about a patient (patientRequest): context read, earlier results read apart, result write. */
type Kind = 'read' | 'earlier' | 'write';

let env: Env | undefined;

afterEach(async () => {
  if (!env) return;
  const { adapter, fhir, schema } = env;
  env = undefined;
  await adapter.close();
  await fhir.close();
  await dropSchema(schema);
});

const faultKey = (kind: Kind, patientId: string) => `${kind}|${patientId}`;

async function setUp(label: string, cases: readonly TestCase[], attempts = 3): Promise<Env> {
  const fhir = await startSandboxServer();
  await loadCases(fhir.baseUrl, cases);
  const schema = uniqueSchema(label);
  const faults: Env['faults'] = new Map();
  const log: Env['log'] = [];
  const faulty: FetchFn = async (url, init) => {
    const target = patientRequest(url, fhir.baseUrl, init);
    if (!target) return fetch(url, init);
    const planned = faults.get(faultKey(target.kind, target.patientId));
    const next = planned?.[0];
    if (next && !next.forever) planned.shift();
    const fault = next?.fault;
    const entry: Env['log'][number] = { ...target, at: Date.now(), ...(fault ? { fault: fault.kind } : {}) };
    log.push(entry);
    if (fault?.kind === 'answer') {
      entry.status = fault.status;
      const body = { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'transient' }] };
      return new Response(JSON.stringify(body), {
        status: fault.status,
        headers: { 'content-type': 'application/fhir+json', ...fault.headers },
      });
    }
    if (fault?.kind === 'failing-entry') {
      const bundle = JSON.parse(init?.body as string) as Bundle;
      const patient = await fhir.repo.readResource<Patient>('Patient', target.patientId);
      bundle.entry?.push({
        fullUrl: `urn:uuid:${crypto.randomUUID()}`,
        resource: patient,
        request: { method: 'PUT', url: `Patient/${target.patientId}`, ifMatch: 'W/"no-such-version"' },
      });
      const res = await fetch(url, { ...init, body: JSON.stringify(bundle) });
      entry.status = res.status;
      env?.afterFaultyWrite?.(target.patientId);
      return res;
    }
    const res = await fetch(url, init);
    entry.status = res.status;
    if (fault?.kind === 'lose-response') {
      await res.arrayBuffer();
      env?.afterFaultyWrite?.(target.patientId);
      throw new TypeError('fetch failed');
    }
    if (fault?.kind === 'entry-failed') {
      const bundle = (await res.json()) as Bundle;
      const last = bundle.entry?.at(-1);
      if (last?.response) last.response.status = fault.status;
      env?.afterFaultyWrite?.(target.patientId);
      return new Response(JSON.stringify(bundle), { status: res.status, headers: res.headers });
    }
    return res;
  };
  const adapter = await startAdapter({
    fhirBaseUrl: fhir.baseUrl,
    schema,
    fetch: faulty,
    queue: { retry: { attempts, delaySeconds: 0, backoff: false }, pollingIntervalSeconds: 0.5 },
  });
  env = { fhir, adapter, schema, faults, log };
  return env;
}

function plan(e: Env, kind: Kind, patientId: string, ...faults: Fault[]): void {
  e.faults.set(
    faultKey(kind, patientId),
    faults.map((fault) => ({ fault })),
  );
}

async function notifyPatient(e: Env, tc: TestCase): Promise<void> {
  const patient = await e.fhir.repo.readResource('Patient', tc.patientId);
  const res = await notify(e.adapter.url, medplumNotification(patient));
  expect(res.status).toBe(200);
}

async function metrics(e: Env): Promise<string> {
  return (await fetch(`${e.adapter.url}/metrics`)).text();
}

const attemptsOf = (e: Env, kind: Kind, patientId: string) =>
  e.log.filter((l) => l.kind === kind && l.patientId === patientId);

describe('reliability: FHIR server faults', () => {
  it('503 with Retry-After, then 500, then recovery: the job is retried and ends right', async () => {
    const tc = loadCase('pseudoprogression');
    const e = await setUp('transient', [tc], 4);
    plan(
      e,
      'read',
      tc.patientId,
      { kind: 'answer', status: 503, headers: { 'retry-after': '1' } },
      { kind: 'answer', status: 500 },
    );
    await notifyPatient(e, tc);
    await waitForQueueQuiet(e.adapter.queue);

    expect(attemptsOf(e, 'read', tc.patientId).map((l) => l.status)).toEqual([503, 500, 200]);
    expectAssessed(e.fhir.repo, tc);
    const text = await metrics(e);
    expect(metricValue(text, 'irecist_jobs_total', { kind: 'assess-patient', outcome: 'retry' })).toBe(2);
    expect(metricValue(text, 'irecist_jobs_total', { kind: 'assess-patient', outcome: 'done' })).toBe(1);
    expect(metricValue(text, 'irecist_queue_jobs', { state: 'dead-lettered' })).toBe(0);
  });

  // The job waits what the server asked (src/worker/honour-retry-after.ts) before failing into the queue's retry.
  it('a retry waits at least as long as the Retry-After the server sent', async () => {
    const tc = loadCase('responder');
    const e = await setUp('retryafter', [tc], 3);
    plan(e, 'read', tc.patientId, { kind: 'answer', status: 503, headers: { 'retry-after': '2' } });
    await notifyPatient(e, tc);
    await waitForQueueQuiet(e.adapter.queue);
    const [failed, retried] = attemptsOf(e, 'read', tc.patientId);
    expect((retried?.at ?? 0) - (failed?.at ?? 0)).toBeGreaterThanOrEqual(1_900);
  });

  it('a permanent failure is dead-lettered, shows in /readyz and /metrics, and is replayed once the server recovers', async () => {
    const broken = loadCase('hyperprogression');
    const healthy = loadCase('responder');
    const e = await setUp('dead', [broken, healthy], 3);
    e.faults.set(faultKey('read', broken.patientId), [{ fault: { kind: 'answer', status: 503 }, forever: true }]);
    await notifyPatient(e, broken);
    await notifyPatient(e, healthy);
    await waitFor(async () => (await e.adapter.queue.stats()).deadLettered === 1, 'the job to be dead-lettered');
    await waitForQueueQuiet(e.adapter.queue);

    // Three attempts (the configured number), then the dead-letter queue; the other patient is not held up.
    expect(attemptsOf(e, 'read', broken.patientId).map((l) => l.status)).toEqual([503, 503, 503]);
    expectNothingWritten(e.fhir.repo, broken.patientId);
    expectAssessed(e.fhir.repo, healthy);
    const letters = await e.adapter.queue.listDeadLetters();
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ kind: 'assess-patient', payload: { patientId: broken.patientId }, attempts: 3 });

    const ready = await fetch(`${e.adapter.url}/readyz`);
    expect(ready.status).toBe(200);
    const readiness = (await ready.json()) as {
      checks: { name: string; ok: boolean; detail?: Record<string, number> }[];
    };
    expect(readiness.checks.find((c) => c.name === 'backlog')).toEqual({
      name: 'backlog',
      ok: true,
      detail: { queued: 0, active: 0, deadLettered: 1 },
    });
    expect(metricValue(await metrics(e), 'irecist_queue_jobs', { state: 'dead-lettered' })).toBe(1);

    // The server recovers; `irecist-adapter replay` (queue.replayDeadLetters) brings the job back.
    e.faults.clear();
    expect(await e.adapter.queue.replayDeadLetters()).toBe(1);
    await waitForQueueQuiet(e.adapter.queue);
    expectAssessed(e.fhir.repo, broken);
    expect(attemptsOf(e, 'read', broken.patientId).at(-1)?.status).toBe(200);
    expect(await e.adapter.queue.stats()).toMatchObject({ queued: 0, deadLettered: 0 });
    expect(metricValue(await metrics(e), 'irecist_queue_jobs', { state: 'dead-lettered' })).toBe(0);
    const after = (await (await fetch(`${e.adapter.url}/readyz`)).json()) as typeof readiness;
    expect(after.checks.find((c) => c.name === 'backlog')?.detail).toEqual({ queued: 0, active: 0, deadLettered: 0 });
  });

  it('a definite refusal (400 on the write) is dead-lettered after one attempt, not retried', async () => {
    const refused = loadCase('confirmed-progression');
    const healthy = loadCase('responder');
    const e = await setUp('final', [refused, healthy], 3);
    e.faults.set(faultKey('write', refused.patientId), [{ fault: { kind: 'answer', status: 400 }, forever: true }]);
    await notifyPatient(e, refused);
    await notifyPatient(e, healthy);
    await waitFor(async () => (await e.adapter.queue.stats()).deadLettered === 1, 'the job to be dead-lettered');
    await waitForQueueQuiet(e.adapter.queue);

    expect(attemptsOf(e, 'write', refused.patientId).map((l) => l.status)).toEqual([400]);
    expectNothingWritten(e.fhir.repo, refused.patientId);
    expectAssessed(e.fhir.repo, healthy);
    const letters = await e.adapter.queue.listDeadLetters();
    expect(letters).toMatchObject([{ kind: 'assess-patient', payload: { patientId: refused.patientId } }]);
    expect(metricValue(await metrics(e), 'irecist_jobs_total', { kind: 'assess-patient', outcome: 'failed' })).toBe(1);

    // Once the cause is fixed, `replay` brings it back with fresh attempts.
    e.faults.clear();
    expect(await e.adapter.queue.replayDeadLetters()).toBe(1);
    await waitForQueueQuiet(e.adapter.queue);
    expectAssessed(e.fhir.repo, refused);
  });

  it('a transaction failing part way leaves no half result; the retry writes it whole', async () => {
    const tc = loadCase('confirmed-progression');
    const e = await setUp('partial', [tc], 3);
    plan(e, 'write', tc.patientId, { kind: 'failing-entry' });
    const snapshots: ReturnType<typeof serverOutcome>[] = [];
    e.afterFaultyWrite = (patientId) => snapshots.push(serverOutcome(e.fhir.repo, patientId));
    await notifyPatient(e, tc);
    await waitForQueueQuiet(e.adapter.queue);

    const writes = attemptsOf(e, 'write', tc.patientId);
    expect(writes.map((w) => [w.fault, w.status])).toEqual([
      ['failing-entry', 412],
      [undefined, 200],
    ]);
    // Right after the failed transaction: no report, no timepoint Observation, no Flag.
    expect(snapshots).toHaveLength(1);
    expect(snapshots[0]?.outcome).toMatchObject({ reports: [], activeFlags: [], reportIds: [], observationIds: [] });
    expectAssessed(e.fhir.repo, tc);
    expect(e.fhir.repo.listCurrent('Provenance')).toHaveLength(1);
  });

  it('a write committed but reported failed (lost response, a failed entry) is retried without duplicates', async () => {
    const lost = loadCase('early-scan');
    const partial = loadCase('new-lesion-confirmed');
    const e = await setUp('committed', [lost, partial], 3);
    plan(e, 'write', lost.patientId, { kind: 'lose-response' });
    plan(e, 'write', partial.patientId, { kind: 'entry-failed', status: '500 Internal Server Error' });
    await notifyPatient(e, lost);
    await notifyPatient(e, partial);
    await waitForQueueQuiet(e.adapter.queue);

    for (const tc of [lost, partial]) {
      // The retry read the context and the earlier results again in one batch (no separate read of the earlier
      // results), found the whole result there and wrote nothing.
      const writes = attemptsOf(e, 'write', tc.patientId);
      expect(writes.map((w) => [w.fault, w.status])).toEqual([[expect.any(String), 200]]);
      const afterFault = (kind: Kind) =>
        attemptsOf(e, kind, tc.patientId).filter((l) => l.at >= (writes[0]?.at ?? Infinity) && l.status === 200);
      expect([afterFault('read').length, afterFault('earlier').length]).toEqual([1, 0]);
      expectAssessed(e.fhir.repo, tc);
      // The retry found everything in place: each report has one version.
      expect(await reportVersionCounts(e.fhir.repo, tc.patientId)).toEqual(
        Array(expectedOutcome(tc).reportIds.length).fill(1),
      );
    }
    // One Provenance each: the retry records the same decision, so its conditional create finds the first.
    expect(e.fhir.repo.listCurrent('Provenance')).toHaveLength(2);
    expect((await e.adapter.queue.stats()).deadLettered).toBe(0);
  });
});
