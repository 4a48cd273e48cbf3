/**
 * The FHIR server misbehaving, over real sockets: the adapter (startAdapter, PostgreSQL, a schema of its own) talks to
 * a node:http server on loopback (misbehaving-fhir-server.ts) that forwards to a real sandbox FHIR server and, on
 * command, answers late, fails, asks to be retried later, cuts connections, sends half a response, commits half a
 * transaction, or goes down. Notifications are sent by the test. Several patients per test: faults aimed at one are
 * seen not to touch the others, and every end state is compared with what `assess` gives for the same data.
 *
 * The order notifications are sent in is shuffled with a seed (CHAOS_SEED to re-run one), printed on failure.
 */
import type { DiagnosticReport, Patient, Provenance } from '@medplum/fhirtypes';
import { afterEach, describe, expect, it, type TestContext } from 'vitest';
import type { JobQueueOptions } from '../../src/queue/job-queue.ts';
import type { RunningService } from '../../src/service/start-service.ts';
import {
  expectAssessed,
  expectedOutcome,
  expectNothingWritten,
  loadCase,
  loadCases,
  reportVersionCounts,
  serverOutcome,
  shuffled,
  type TestCase,
} from '../e2e/cases.ts';
import {
  dropSchema,
  medplumNotification,
  metricValue,
  notify,
  startAdapter,
  uniqueSchema,
  waitFor,
  waitForQueueQuiet,
} from '../e2e/harness.ts';
import {
  type MisbehavingFhirServer,
  type RecordedRequest,
  startMisbehavingFhirServer,
} from './misbehaving-fhir-server.ts';

const SEED = Number(process.env.CHAOS_SEED ?? Date.now() % 1_000_000_007);

interface Env {
  fhir: MisbehavingFhirServer;
  adapter: RunningService;
  schema: string;
}

let env: Env | undefined;

afterEach(async () => {
  if (!env) return;
  const { adapter, fhir, schema } = env;
  env = undefined;
  await adapter.close();
  await fhir.close();
  await dropSchema(schema);
});

/** `context`: print the seed if the test fails (tests whose notification order is shuffled). */
async function setUp(
  context: TestContext | undefined,
  label: string,
  cases: readonly TestCase[],
  options: { queue: JobQueueOptions; env?: Record<string, string>; downFirst?: boolean },
): Promise<Env> {
  context?.onTestFailed(() => console.error(`fhir-server-faults: re-run with CHAOS_SEED=${SEED}`));
  const fhir = await startMisbehavingFhirServer();
  await loadCases(fhir.upstream.baseUrl, cases);
  if (options.downFirst) await fhir.down('refuse');
  const schema = uniqueSchema(label);
  const adapter = await startAdapter({
    fhirBaseUrl: fhir.baseUrl,
    schema,
    queue: options.queue,
    ...(options.env ? { env: options.env } : {}),
  });
  env = { fhir, adapter, schema };
  return env;
}

async function notifyPatients(e: Env, cases: readonly TestCase[]): Promise<void> {
  for (const tc of shuffled(cases, SEED)) {
    const patient = await e.fhir.upstream.repo.readResource<Patient>('Patient', tc.patientId);
    const res = await notify(e.adapter.url, medplumNotification(patient));
    expect(res.status, tc.name).toBe(200);
  }
}

async function readiness(
  e: Env,
): Promise<{ status: number; checks: Record<string, { ok: boolean; detail?: unknown }> }> {
  const res = await fetch(`${e.adapter.url}/readyz`);
  const body = (await res.json()) as { checks: { name: string; ok: boolean; detail?: unknown }[] };
  return { status: res.status, checks: Object.fromEntries(body.checks.map(({ name, ...rest }) => [name, rest])) };
}

async function metrics(e: Env): Promise<string> {
  return (await fetch(`${e.adapter.url}/metrics`)).text();
}

/** Milliseconds between consecutive requests. */
const gaps = (requests: readonly RecordedRequest[]): number[] =>
  requests.slice(1).map((r, i) => r.at - (requests[i] as RecordedRequest).at);

/** The Provenances whose targets include one of the patient's DiagnosticReports. */
function provenancesOf(e: Env, patientId: string): Provenance[] {
  const reports = new Set(
    e.fhir.upstream.repo
      .listCurrent<DiagnosticReport>('DiagnosticReport')
      .filter((r) => r.subject?.reference === `Patient/${patientId}`)
      .map((r) => `DiagnosticReport/${r.id}`),
  );
  return e.fhir.upstream.repo
    .listCurrent<Provenance>('Provenance')
    .filter((p) => p.target.some((t) => reports.has(t.reference ?? '')));
}

/** The server holds exactly what `assess` gives, each report written once, one Provenance. */
async function expectWholeOnce(e: Env, tc: TestCase): Promise<void> {
  expectAssessed(e.fhir.upstream.repo, tc);
  expect(await reportVersionCounts(e.fhir.upstream.repo, tc.patientId), tc.name).toEqual(
    Array(expectedOutcome(tc).reportIds.length).fill(1),
  );
  expect(provenancesOf(e, tc.patientId), tc.name).toHaveLength(1);
}

/**
 * A patient no fault was aimed at: one context read (the adapter's earlier results read in the same batch), one write,
 * the right result.
 */
async function expectUntouched(e: Env, tc: TestCase): Promise<void> {
  expect(
    e.fhir.log.filter((r) => r.patientId === tc.patientId).map((r) => [r.kind, r.fault, r.status]),
    tc.name,
  ).toEqual([
    ['read', undefined, 200],
    ['write', undefined, 200],
  ]);
  await expectWholeOnce(e, tc);
}

const statuses = (requests: readonly RecordedRequest[]) => requests.map((r) => [r.fault, r.status]);

describe('chaos: the FHIR server misbehaving, over real sockets', () => {
  it('retries with growing backoff, waits out Retry-After (seconds and HTTP-date), dead-letters after the configured attempts', async (context) => {
    const failing = loadCase('hyperprogression', 'always-500');
    const afterSeconds = loadCase('pseudoprogression', 'retry-after-seconds');
    const afterDate = loadCase('confirmed-progression', 'retry-after-date');
    const healthy = loadCase('responder', 'healthy');
    const cases = [failing, afterSeconds, afterDate, healthy];
    const e = await setUp(context, 'backoff', cases, {
      queue: {
        retry: { attempts: 4, delaySeconds: 1, backoff: true, maxDelaySeconds: 30 },
        pollingIntervalSeconds: 0.5,
      },
    });
    e.fhir.fail({ kind: 'read', patientId: failing.patientId, times: Infinity }, { do: 'status', status: 500 });
    e.fhir.fail({ kind: 'read', patientId: afterSeconds.patientId }, { do: 'status', status: 503, retryAfter: '3' });
    // Further than the queue's own first delay (1-2 s), so only honouring the header explains a later retry.
    const retryDate = new Date(Date.now() + 5_000).toUTCString();
    e.fhir.fail(
      { kind: 'write', patientId: afterDate.patientId },
      { do: 'status', status: 429, retryAfter: retryDate },
    );
    const whenRefused: ReturnType<typeof serverOutcome>[] = [];
    e.fhir.onFaultyWrite = (patientId) => whenRefused.push(serverOutcome(e.fhir.upstream.repo, patientId));

    await notifyPatients(e, cases);
    await waitFor(
      async () => (await e.adapter.queue.stats()).deadLettered === 1,
      'the job to be dead-lettered',
      40_000,
    );
    await waitForQueueQuiet(e.adapter.queue);

    // Four attempts (the configured number); the queue's delay doubles: >= 1 s, 2 s, 4 s (pg-boss: base * 2^n * [1, 2)).
    const failed = e.fhir.requestsOf('read', failing.patientId);
    expect(statuses(failed)).toEqual(Array(4).fill(['status', 500]));
    const [g1, g2, g3] = gaps(failed) as [number, number, number];
    expect(g1).toBeGreaterThanOrEqual(1_000);
    expect(g2).toBeGreaterThanOrEqual(2_000);
    expect(g3).toBeGreaterThanOrEqual(4_000);
    expect(g3).toBeGreaterThan(g1);
    expectNothingWritten(e.fhir.upstream.repo, failing.patientId);

    // Retry-After in seconds: the next read came at least that long after the 503.
    const reads = e.fhir.requestsOf('read', afterSeconds.patientId);
    expect(statuses(reads)).toEqual([
      ['status', 503],
      [undefined, 200],
    ]);
    expect(gaps(reads)[0]).toBeGreaterThanOrEqual(3_000);
    await expectWholeOnce(e, afterSeconds);

    // Retry-After as an HTTP-date: the next write came no earlier than that date; the refused write left nothing.
    const writes = e.fhir.requestsOf('write', afterDate.patientId);
    expect(statuses(writes)).toEqual([
      ['status', 429],
      [undefined, 200],
    ]);
    expect(writes[0]?.retryAfter).toBe(retryDate);
    expect(writes[1]?.at).toBeGreaterThanOrEqual(Date.parse(retryDate));
    expect(whenRefused).toHaveLength(1);
    expect(whenRefused[0]?.outcome).toMatchObject({ reportIds: [], observationIds: [], activeFlagIds: [] });
    await expectWholeOnce(e, afterDate);

    await expectUntouched(e, healthy);

    // The dead letter is visible: queue, /readyz detail (still ready: a dead letter is not an outage), /metrics.
    const letters = await e.adapter.queue.listDeadLetters();
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({
      kind: 'assess-patient',
      payload: { patientId: failing.patientId },
      attempts: 4,
    });
    const ready = await readiness(e);
    expect(ready.status).toBe(200);
    expect(ready.checks.backlog).toEqual({ ok: true, detail: { queued: 0, active: 0, deadLettered: 1 } });
    const text = await metrics(e);
    expect(metricValue(text, 'irecist_queue_jobs', { state: 'dead-lettered' })).toBe(1);
    expect(metricValue(text, 'irecist_jobs_total', { kind: 'assess-patient', outcome: 'retry' })).toBe(4 + 1 + 1);
    expect(metricValue(text, 'irecist_jobs_total', { kind: 'assess-patient', outcome: 'done' })).toBe(3);
  }, 60_000);

  it('a server slower than FHIR_TIMEOUT_MS is abandoned and the job retried; one a little slower still just works', async (context) => {
    const slowRead = loadCase('pseudoprogression', 'slow-read');
    const slowBody = loadCase('hyperprogression', 'slow-body');
    const slowWrite = loadCase('confirmed-progression', 'slow-write');
    const slowButInTime = loadCase('responder', 'slow-in-time');
    const healthy = loadCase('early-scan', 'healthy');
    const cases = [slowRead, slowBody, slowWrite, slowButInTime, healthy];
    const e = await setUp(context, 'slow', cases, {
      queue: { retry: { attempts: 3, delaySeconds: 0, backoff: false }, pollingIntervalSeconds: 0.5 },
      env: { FHIR_TIMEOUT_MS: '2000' },
    });
    e.fhir.fail({ kind: 'read', patientId: slowRead.patientId }, { do: 'delay', ms: 5_000 });
    e.fhir.fail({ kind: 'read', patientId: slowBody.patientId }, { do: 'slow-body', ms: 5_000 });
    // The slow write still commits, 5 s in: after the adapter gave up and after its retry wrote the result.
    e.fhir.fail({ kind: 'write', patientId: slowWrite.patientId }, { do: 'delay', ms: 5_000 });
    e.fhir.fail({ kind: 'read', patientId: slowButInTime.patientId }, { do: 'delay', ms: 500 });
    e.fhir.fail({ kind: 'write', patientId: slowButInTime.patientId }, { do: 'slow-body', ms: 500 });

    await notifyPatients(e, cases);
    await waitForQueueQuiet(e.adapter.queue);
    await e.fhir.idle();

    // Abandoned (the adapter hung up before the answer came) and retried before the slow answer would have come.
    for (const [tc, kind] of [
      [slowRead, 'read'],
      [slowBody, 'read'],
      [slowWrite, 'write'],
    ] as const) {
      const [slow, retry, ...more] = e.fhir.requestsOf(kind, tc.patientId);
      expect(more, tc.name).toEqual([]);
      expect(slow?.clientGone, tc.name).toBe(true);
      expect(retry?.status, tc.name).toBe(200);
      expect(retry?.clientGone, tc.name).toBeFalsy();
      expect(retry?.at, tc.name).toBeLessThan(slow?.doneAt ?? 0);
    }
    // The late commit of the abandoned write found the retry's result in place: nothing twice, nothing changed.
    expect(e.fhir.requestsOf('write', slowWrite.patientId)[0]?.upstreamStatus).toBe(200);
    for (const tc of [slowRead, slowBody, slowWrite]) await expectWholeOnce(e, tc);

    // Under the timeout: one read (the earlier results in the same batch), one write, no retry.
    expect(e.fhir.log.filter((r) => r.patientId === slowButInTime.patientId).map((r) => [r.kind, r.status])).toEqual([
      ['read', 200],
      ['write', 200],
    ]);
    expect(e.fhir.log.filter((r) => r.patientId === slowButInTime.patientId && r.clientGone)).toEqual([]);
    await expectWholeOnce(e, slowButInTime);

    await expectUntouched(e, healthy);
    expect((await e.adapter.queue.stats()).deadLettered).toBe(0);
  }, 60_000);

  it('cut connections, half responses and half-committed transactions are retried to the whole result, nothing twice', async (context) => {
    const cutRead = loadCase('pseudoprogression', 'cut-read');
    const halfRead = loadCase('hyperprogression', 'half-read');
    const cutBeforeWrite = loadCase('responder', 'cut-before-write');
    const cutAfterWrite = loadCase('early-scan', 'cut-after-write');
    const halfWrite = loadCase('new-lesion-confirmed', 'half-write');
    const atomic = loadCase('non-target-progression', 'atomic-reject');
    const partialEntry = loadCase('confirmed-progression', 'partial-entry');
    const partial500 = loadCase('pseudoprogression', 'partial-500');
    const healthy = loadCase('continued-pr', 'healthy');
    const cases = [
      cutRead,
      halfRead,
      cutBeforeWrite,
      cutAfterWrite,
      halfWrite,
      atomic,
      partialEntry,
      partial500,
      healthy,
    ];
    const e = await setUp(context, 'cuts', cases, {
      queue: { retry: { attempts: 3, delaySeconds: 0, backoff: false }, pollingIntervalSeconds: 0.5 },
    });
    e.fhir.fail({ kind: 'read', patientId: cutRead.patientId }, { do: 'cut-before' });
    e.fhir.fail({ kind: 'read', patientId: halfRead.patientId }, { do: 'half-response' });
    e.fhir.fail({ kind: 'write', patientId: cutBeforeWrite.patientId }, { do: 'cut-before' });
    e.fhir.fail({ kind: 'write', patientId: cutAfterWrite.patientId }, { do: 'cut-after' });
    e.fhir.fail({ kind: 'write', patientId: halfWrite.patientId }, { do: 'half-response' });
    e.fhir.fail({ kind: 'write', patientId: atomic.patientId }, { do: 'reject-atomic' });
    e.fhir.fail(
      { kind: 'write', patientId: partialEntry.patientId },
      { do: 'partial-commit', entryStatus: '500 Internal Server Error' },
    );
    e.fhir.fail({ kind: 'write', patientId: partial500.patientId }, { do: 'partial-commit', status: 500 });
    // What the server holds at the instant each faulty write was answered (or cut).
    const atFault = new Map<string, ReturnType<typeof serverOutcome>>();
    e.fhir.onFaultyWrite = (patientId) => atFault.set(patientId, serverOutcome(e.fhir.upstream.repo, patientId));

    await notifyPatients(e, cases);
    await waitForQueueQuiet(e.adapter.queue);

    for (const [tc, kind] of [
      [cutRead, 'read'],
      [halfRead, 'read'],
      [cutBeforeWrite, 'write'],
      [atomic, 'write'],
      [partialEntry, 'write'],
      [partial500, 'write'],
    ] as const) {
      const [faulty, retry, ...more] = e.fhir.requestsOf(kind, tc.patientId);
      expect(faulty?.fault, tc.name).toBeDefined();
      expect([retry?.fault, retry?.status], tc.name).toEqual([undefined, 200]);
      expect(more, tc.name).toEqual([]);
      await expectWholeOnce(e, tc);
    }
    // Committed with the answer lost: the retry read the context and the earlier results again (one batch, no
    // separate read of the earlier results), found the whole result in place and wrote nothing (a second write would
    // be a duplicate, or at least a needless version).
    for (const tc of [cutAfterWrite, halfWrite]) {
      const [faulty, ...more] = e.fhir.requestsOf('write', tc.patientId);
      expect(faulty?.fault, tc.name).toBeDefined();
      expect(more, tc.name).toEqual([]);
      const sinceFault = (kind: 'read' | 'earlier') =>
        e.fhir.requestsOf(kind, tc.patientId).filter((r) => r.at >= (faulty?.at ?? Infinity) && r.status === 200);
      expect([sinceFault('read').length, sinceFault('earlier').length], tc.name).toEqual([1, 0]);
      await expectWholeOnce(e, tc);
    }

    const nothing = { reportIds: [], observationIds: [], activeFlagIds: [] };
    // Not forwarded, or rolled back by an atomic server: nothing at all was there.
    expect(atFault.get(cutBeforeWrite.patientId)?.outcome).toMatchObject(nothing);
    expect(e.fhir.requestsOf('write', atomic.patientId)[0]?.status).toBe(412);
    expect(atFault.get(atomic.patientId)?.outcome).toMatchObject(nothing);
    // Committed with the answer lost: the whole result was there already, and the retry changed nothing.
    for (const tc of [cutAfterWrite, halfWrite]) {
      const expected = expectedOutcome(tc);
      expect(atFault.get(tc.patientId)?.outcome, tc.name).toMatchObject({
        reportIds: expected.reportIds,
        observationIds: expected.observationIds,
        activeFlagIds: expected.activeFlagIds,
      });
    }
    // A non-atomic server (against R4, which requires transactions to be atomic) committed the first entries only:
    // a half result the adapter cannot prevent, and did not take for done; the retry completed it, nothing twice.
    for (const tc of [partialEntry, partial500]) {
      const half = atFault.get(tc.patientId)?.outcome;
      const expected = expectedOutcome(tc);
      expect(half?.reportIds.length, tc.name).toBeLessThan(expected.reportIds.length);
      expect(half?.observationIds.length, tc.name).toBeGreaterThan(0);
      expect(expected.observationIds, tc.name).toEqual(expect.arrayContaining(half?.observationIds ?? ['?']));
      expect(half?.activeFlagIds, tc.name).toEqual([]);
    }

    await expectUntouched(e, healthy);
    // The three cut connections are counted as network errors; a half response came with its status line (200).
    const text = await metrics(e);
    expect(
      metricValue(text, 'irecist_fhir_requests_total', { operation: 'batch-or-transaction', status: 'network-error' }),
    ).toBe(3);
    expect((await e.adapter.queue.stats()).deadLettered).toBe(0);
  }, 60_000);

  it('down (refusing, then 503 for everything) and back: /readyz follows, queued jobs finish by themselves, new work flows', async (context) => {
    const beforeUp = [loadCase('pseudoprogression', 'while-refusing'), loadCase('responder', 'while-refusing')];
    const during503 = [loadCase('hyperprogression', 'while-503'), loadCase('early-scan', 'while-503')];
    const afterRecovery = [loadCase('confirmed-progression', 'after'), loadCase('continued-pr', 'after')];
    const cases = [...beforeUp, ...during503, ...afterRecovery];
    // The adapter starts while its FHIR server refuses connections.
    const e = await setUp(context, 'down', cases, {
      queue: { retry: { attempts: 8, delaySeconds: 1, backoff: false }, pollingIntervalSeconds: 0.5 },
      downFirst: true,
    });

    const down = await readiness(e);
    expect(down.status).toBe(503);
    expect(down.checks['fhir-server']?.ok).toBe(false);
    expect(down.checks.database?.ok).toBe(true);

    await notifyPatients(e, beforeUp);
    // Both jobs tried and failed (twice each) while nothing answered.
    await waitFor(
      async () =>
        (metricValue(await metrics(e), 'irecist_jobs_total', { kind: 'assess-patient', outcome: 'retry' }) ?? 0) >= 4,
      'failed attempts while down',
    );
    expect(e.fhir.log).toEqual([]);
    // Back up, but its first two CapabilityStatement reads fail (a fault for every caller): not ready until one works.
    e.fhir.fail({ kind: 'metadata', times: 2 }, { do: 'status', status: 500 });
    await e.fhir.up();
    await waitFor(async () => (await readiness(e)).status === 200, '/readyz to recover');
    const metadata = e.fhir.log.filter((r) => r.kind === 'metadata').map((r) => r.status);
    expect(metadata.slice(0, 3)).toEqual([500, 500, 200]);
    expect(metadata.slice(2).every((status) => status === 200)).toBe(true);
    expect((await readiness(e)).checks['fhir-server']?.ok).toBe(true);
    await waitForQueueQuiet(e.adapter.queue, 30_000);
    for (const tc of beforeUp) await expectWholeOnce(e, tc);

    // Down again, answering 503 to everything: the jobs fail and are retried; back up, they finish.
    await e.fhir.down('503');
    await notifyPatients(e, during503);
    await waitFor(
      () => during503.every((tc) => e.fhir.requestsOf('read', tc.patientId).length >= 2),
      'failed attempts while answering 503',
    );
    await e.fhir.up();
    await waitForQueueQuiet(e.adapter.queue, 30_000);
    for (const tc of during503) {
      const reads = e.fhir.requestsOf('read', tc.patientId);
      expect(reads.at(-1)?.status, tc.name).toBe(200);
      expect(
        reads.slice(0, -1).every((r) => r.fault === 'down-503' && r.status === 503),
        tc.name,
      ).toBe(true);
      expect(statuses(e.fhir.requestsOf('write', tc.patientId)), tc.name).toEqual([[undefined, 200]]);
      await expectWholeOnce(e, tc);
    }

    // New notifications after recovery: straight through.
    await notifyPatients(e, afterRecovery);
    await waitForQueueQuiet(e.adapter.queue);
    for (const tc of afterRecovery) await expectUntouched(e, tc);
    for (const tc of beforeUp) await expectWholeOnce(e, tc);
    expect((await e.adapter.queue.stats()).deadLettered).toBe(0);
    expect((await readiness(e)).status).toBe(200);
  }, 60_000);

  // The readiness probe asks the server each time (capabilities are cached for the worker, not for /readyz).
  it('/readyz reports the FHIR server not ok when it goes down after having been up', async () => {
    const e = await setUp(undefined, 'readyz', [], {
      queue: { retry: { attempts: 2, delaySeconds: 0, backoff: false }, pollingIntervalSeconds: 0.5 },
    });
    expect((await readiness(e)).checks['fhir-server']?.ok).toBe(true);
    await e.fhir.down('refuse');
    const refusing = await readiness(e);
    await e.fhir.up();
    await e.fhir.down('503');
    const failing = await readiness(e);
    await e.fhir.up();
    expect([refusing.status, refusing.checks['fhir-server']?.ok]).toEqual([503, false]);
    expect([failing.status, failing.checks['fhir-server']?.ok]).toEqual([503, false]);
    expect((await readiness(e)).checks['fhir-server']?.ok).toBe(true);
  });
});
