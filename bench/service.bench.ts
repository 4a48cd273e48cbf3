/**
 * Service benchmark (`npm run bench:service`): the whole service (startService) against its embedded sandbox FHIR
 * server, everything on 127.0.0.1, in one run that stops by itself (hard limit BENCH_DEADLINE_S, default 170 s).
 *
 *   1. bare minimum: for clones of the benchmark's patients (same data, the adapter's Subscriptions switched off),
 *      the batch read (readPatientContext) + the transaction write (writeResults) of a precomputed transaction
 *      (assessResources), done directly against the sandbox with the adapter's own FHIR client;
 *   2. notification-to-Flag, single notification: the same kind of patients loaded with the Subscriptions still off,
 *      then ONE signed Medplum-style notification each; time until the Flag reaches a loopback receiver that is
 *      subscribed to Flag in the sandbox;
 *   3. notification-to-Flag, as it happens: BENCH_PATIENTS patients (hyperprogression / confirmed-progression
 *      transactions, ids rewritten to be unique), one at a time: POST the transaction, the sandbox notifies the
 *      adapter once per matching resource (Medplum style), wait for the Flag at the receiver. FHIR round trips per
 *      assessment are counted here (options.fetch wrapper; GET metadata excluded);
 *   4. coalescing: 100 notifications for ONE patient spread over one second, then 100 at once;
 *   5. intake: BENCH_INTAKE_COUNT signed notifications for as many patients, BENCH_INTAKE_CONCURRENCY in flight, from
 *      a child process (bench/intake-load.ts); then how fast the worker drains the backlog once the load stops.
 *
 * Each patient's stages are timestamped without touching src/: notification deliveries through a wrapper of the
 * global fetch the sandbox notifier uses, the durable enqueue by wrapping service.queue.enqueue, FHIR requests
 * through options.fetch, the Flag's commit through the sandbox repository's commit hook. Database statements are
 * counted at the driver (PGlite query/exec, node-postgres Client.query).
 *
 *   npm run bench:service                            PGlite in a temporary directory
 *   BENCH_DATABASE=postgres npm run bench:service    BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test),
 *                                                    in a schema of its own that is dropped at the end
 * Knobs: BENCH_PATIENTS (50), BENCH_INTAKE_COUNT (5000), BENCH_INTAKE_CONCURRENCY (32), BENCH_POLL_SECONDS (queue
 * pollingIntervalSeconds; default: the service's default), QUEUE_CONCURRENCY (the service's), BENCH_DEBUG=1 (SQL mix),
 * BENCH_FHIR_DELAY_MS (added before every FHIR request of the adapter and of the bare minimum alike: a server farther
 * away than an in-memory one on loopback).
 * Prints a Markdown report and writes it to bench/results/service.md (service-postgres.md for PostgreSQL).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import type { Bundle, Resource, Subscription } from '@medplum/fhirtypes';
import pg from 'pg';
import { loadConfig } from '../src/config.ts';
import { readCapabilities } from '../src/fhir/capabilities.ts';
import { createFhirClient } from '../src/fhir/client-factory.ts';
import { readPatientContext } from '../src/fhir/read-patient-context.ts';
import { writeResults } from '../src/fhir/write-results.ts';
import { assessResources } from '../src/pipeline/assess-resources.ts';
import type { JobQueueOptions } from '../src/queue/job-queue.ts';
import { type RunningService, startService } from '../src/service/start-service.ts';
import type { LoadResult } from './intake-load.ts';
import { closedLoopLoad } from './load-child.ts';
import { envInt, installDeadline, onAbort, writeResultJson } from './run-control.ts';
import { casesFor, type PatientCase, patientOf } from './sample-cases.ts';
import { benchSchema } from './service-rig.ts';
import { sendSignedObservationUpdate } from './signed-notification.ts';
import { markdownTable, ms, p50p99, percentile } from './stats.ts';

// ---------------------------------------------------------------------------------------------------------------
// Settings

const env = process.env;
const int = envInt;
const DATABASE = env.BENCH_DATABASE === 'postgres' ? 'postgres' : 'pglite';
const POSTGRES_URL = env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const PATIENTS = int('BENCH_PATIENTS', 50, 4, 500);
const INTAKE_COUNT = int('BENCH_INTAKE_COUNT', 5000, 100, 50_000);
const INTAKE_WARMUP = Math.min(500, Math.round(INTAKE_COUNT / 10));
const INTAKE_CONCURRENCY = int('BENCH_INTAKE_CONCURRENCY', 32, 1, 256);
const DEADLINE_S = int('BENCH_DEADLINE_S', 170, 30, 600);
const POLL_SECONDS = env.BENCH_POLL_SECONDS ? Number(env.BENCH_POLL_SECONDS) : undefined;
/** More pg-boss queue options for experiments, e.g. BENCH_QUEUE_OPTIONS='{"poolSize":20}'. */
const QUEUE_OPTIONS = {
  ...(JSON.parse(env.BENCH_QUEUE_OPTIONS ?? '{}') as JobQueueOptions),
  ...(POLL_SECONDS !== undefined ? { pollingIntervalSeconds: POLL_SECONDS } : {}),
};
const WARMUP_PATIENTS = 4;
const FLAG_TIMEOUT_MS = 15_000;
const COALESCE_COUNT = 100;
const DRAIN_MS = 10_000;
const LOOP_RESOLUTION_MS = 5;
type IntervalHistogram = ReturnType<typeof monitorEventLoopDelay>;

const started = Date.now();
const LOAD_AT_START = loadavg()
  .map((l) => l.toFixed(1))
  .join(' ');
const say = (text: string): void =>
  void process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(1)}s] ${text}\n`);

// A hard stop, whatever happens below (and on Ctrl-C or SIGTERM): drop what the run created, then exit.
let cleanup: () => Promise<void> = async () => undefined;
installDeadline(DEADLINE_S);
onAbort(() => cleanup());

// ---------------------------------------------------------------------------------------------------------------
// Small helpers

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<T>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: no result within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Instrumentation: per-patient stage timestamps, the adapter's FHIR requests, database statements

interface Stages {
  posted?: number;
  notifySent?: number;
  lastNotifyAcked?: number;
  enqueueStart?: number;
  enqueued?: number;
  notifyAcked?: number;
  readStart?: number;
  readEnd?: number;
  writeStart?: number;
  writeEnd?: number;
  flagCommitted?: number;
  flagReceived?: number;
}
const stages = new Map<string, Stages>();
/** Records the first time `name` happens for the patient (or the latest, for `last*` stages). */
function stage(patientId: string | undefined, name: keyof Stages, at = performance.now()): void {
  if (!patientId) return;
  const s = stages.get(patientId) ?? {};
  stages.set(patientId, s);
  if (name.startsWith('last')) s[name] = at;
  else s[name] ??= at;
}

/** Requests the adapter made to the FHIR server, by kind; batch reads (= assessments) and writes per patient. */
const requestKinds = new Map<string, number>();
const readsPerPatient = new Map<string, number>();
const writesPerPatient = new Map<string, number>();
let notificationsDelivered = 0;
let fhirBasePath = '/fhir/R4';
const realFetch = globalThis.fetch;
const bump = (map: Map<string, number>, key: string): void => void map.set(key, (map.get(key) ?? 0) + 1);

const FHIR_DELAY_MS = Number(env.BENCH_FHIR_DELAY_MS ?? 0);
/** The FHIR server's answer, FHIR_DELAY_MS later. */
const delayedFetch = async (input: string, init: RequestInit = {}): Promise<Response> => {
  if (FHIR_DELAY_MS > 0) await new Promise((r) => setTimeout(r, FHIR_DELAY_MS));
  return realFetch(input, init);
};

const countingFetch = async (input: string, init: RequestInit = {}): Promise<Response> => {
  const method = (init.method ?? 'GET').toUpperCase();
  const path = new URL(input).pathname.slice(fhirBasePath.length).replace(/\/+$/, '');
  const body = typeof init.body === 'string' ? init.body : '';
  let kind = path === '/metadata' ? 'GET metadata' : `${method} ${path.split('/')[1] ?? ''}`.trim();
  let which: 'read' | 'write' | undefined;
  let patientId: string | undefined;
  if (method === 'POST' && path === '') {
    const type = /"type":"(batch|transaction)"/.exec(body.slice(0, 400))?.[1] ?? 'bundle';
    kind = `POST ${type}`;
    which = type === 'batch' ? 'read' : type === 'transaction' ? 'write' : undefined;
    patientId = patientOf(body);
  }
  bump(requestKinds, kind);
  if (which && patientId) bump(which === 'read' ? readsPerPatient : writesPerPatient, patientId);
  if (which) stage(patientId, which === 'read' ? 'readStart' : 'writeStart');
  const response = await delayedFetch(input, init);
  if (which) stage(patientId, which === 'read' ? 'readEnd' : 'writeEnd');
  return response;
};

// The sandbox notifier posts with the global fetch: time the deliveries to the adapter per patient.
let notificationsUrl = '';
globalThis.fetch = (async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  if (!notificationsUrl || url !== notificationsUrl) return realFetch(input, init);
  const patientId = typeof init?.body === 'string' ? patientOf(init.body) : undefined;
  stage(patientId, 'notifySent');
  const response = await realFetch(input, init);
  stage(patientId, 'notifyAcked');
  stage(patientId, 'lastNotifyAcked');
  notificationsDelivered++;
  return response;
}) as typeof fetch;

let sqlStatements = 0;
const sqlKinds = new Map<string, number>();
function wrapQueryMethod(proto: object, name: string): void {
  const target = proto as Record<string, (...args: unknown[]) => unknown>;
  const original = target[name];
  if (typeof original !== 'function') return;
  target[name] = function (this: unknown, ...args: unknown[]) {
    sqlStatements++;
    if (env.BENCH_DEBUG) {
      const text = typeof args[0] === 'string' ? args[0] : ((args[0] as { text?: string } | null)?.text ?? '');
      bump(sqlKinds, text.replace(/\s+/g, ' ').trim().slice(0, 60));
    }
    return original.apply(this, args);
  };
}
for (const name of ['query', 'exec']) wrapQueryMethod(PGlite.prototype, name);
wrapQueryMethod(pg.Client.prototype, 'query');

// ---------------------------------------------------------------------------------------------------------------
// The service

const dataDir = mkdtempSync(join(tmpdir(), 'irecist-bench-'));
const schema = benchSchema('svc');
const config = loadConfig({
  LOG_LEVEL: 'silent',
  DATA_DIR: dataDir,
  ...(DATABASE === 'postgres' ? { DATABASE_URL: POSTGRES_URL } : {}),
  ...(env.QUEUE_CONCURRENCY ? { QUEUE_CONCURRENCY: env.QUEUE_CONCURRENCY } : {}),
});
config.port = 0;
cleanup = async () => {
  rmSync(dataDir, { recursive: true, force: true });
  if (DATABASE !== 'postgres') return;
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await client.end();
};

say(`starting the service on ${DATABASE}`);
const service: RunningService = await startService(config, {
  host: '127.0.0.1',
  schema,
  fetch: countingFetch,
  queue: QUEUE_OPTIONS,
});
const sandbox = service.sandbox;
if (!sandbox) throw new Error('the service did not start its sandbox');
const fhirBase = sandbox.baseUrl;
fhirBasePath = new URL(fhirBase).pathname;
notificationsUrl = `${service.url}/notifications`;
const secret = config.webhook.secret;

// The intake's durable enqueue: start-service calls queue.enqueue on this very object for every notification.
const enqueue = service.queue.enqueue.bind(service.queue);
let enqueueTimes: number[] = [];
service.queue.enqueue = async (jobs, options) => {
  const ids = jobs.flatMap((j) => (j.kind === 'assess-patient' ? [j.patientId] : []));
  const t0 = performance.now();
  for (const id of ids) stage(id, 'enqueueStart', t0);
  const result = await enqueue(jobs, options);
  const t1 = performance.now();
  for (const id of ids) stage(id, 'enqueued', t1);
  enqueueTimes.push(t1 - t0);
  return result;
};

sandbox.repo.onCommit((events) => {
  const at = performance.now();
  for (const e of events) {
    if (e.resource.resourceType !== 'Flag' || e.interaction !== 'create') continue;
    stage(patientOf(JSON.stringify((e.resource as { subject?: unknown }).subject ?? {})), 'flagCommitted', at);
  }
});

async function fhir<T = Resource>(path: string, init: RequestInit = {}): Promise<{ status: number; body: T }> {
  const res = await realFetch(`${fhirBase}/${path}`, {
    ...init,
    headers: { 'content-type': 'application/fhir+json', ...(init.headers ?? {}) },
  });
  return { status: res.status, body: (await res.json()) as T };
}

async function postTransaction(body: string): Promise<void> {
  const res = await realFetch(fhirBase, { method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`transaction refused: ${res.status}`);
}

async function assessmentsDone(): Promise<number> {
  const metric = await service.metrics.jobs.get();
  return metric.values
    .filter((v) => v.labels.kind === 'assess-patient' && v.labels.outcome === 'done')
    .reduce((sum, v) => sum + v.value, 0);
}

/** Until every notification is delivered and nothing is queued or running (false after `timeoutMs`). */
async function waitForQuiet(timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let quiet = 0;
  while (Date.now() < deadline) {
    await sandbox?.waitForIdle();
    const s = await service.queue.stats();
    quiet = s.queued + s.active === 0 ? quiet + 1 : 0;
    if (quiet >= 2) return true;
    await sleep(50);
  }
  return false;
}

/** The adapter's own Subscriptions (those pointing at /notifications) on or off; resolves to how many changed. */
async function adapterSubscriptions(status: 'active' | 'off'): Promise<number> {
  const { body } = await fhir<Bundle<Subscription>>('Subscription?_count=100');
  let changed = 0;
  for (const entry of body.entry ?? []) {
    const sub = entry.resource as Subscription;
    if (sub.channel?.endpoint !== notificationsUrl || sub.status === status) continue;
    const res = await fhir(`Subscription/${sub.id}`, { method: 'PUT', body: JSON.stringify({ ...sub, status }) });
    if (res.status >= 300) throw new Error(`Subscription ${sub.id} could not be set ${status}: ${res.status}`);
    changed++;
  }
  return changed;
}

/** One signed Medplum-style notification: an update of one of the patient's tumour-size Observations. */
function notifyPatient(patientId: string, i: number): Promise<number> {
  return sendSignedObservationUpdate(realFetch, notificationsUrl, secret, {
    observationId: `${patientId}-L1-t2`,
    patientId,
    version: i,
  });
}

// A loopback receiver subscribed to Flag in the sandbox: the moment a patient's Flag is visible to others.
const flagWaiters = new Map<string, () => void>();
const receiver = createServer((req: IncomingMessage, res: ServerResponse) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const at = performance.now();
    const patientId = patientOf(Buffer.concat(chunks).toString('utf8'));
    if (patientId) {
      stage(patientId, 'flagReceived', at);
      flagWaiters.get(patientId)?.();
    }
    res.writeHead(200, { 'content-type': 'application/fhir+json' }).end('{}');
  });
});
await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/flag`;

function flagArrival(patientId: string): Promise<void> {
  if (stages.get(patientId)?.flagReceived !== undefined) return Promise.resolve();
  return withTimeout(
    new Promise<void>((resolve) => flagWaiters.set(patientId, resolve)),
    FLAG_TIMEOUT_MS,
    `Flag of ${patientId}`,
  ).finally(() => flagWaiters.delete(patientId));
}

// ---------------------------------------------------------------------------------------------------------------
// 1. The bare minimum: batch read + transaction write of a precomputed transaction, directly

const bare = { read: [] as number[], write: [] as number[], total: [] as number[] };
say(`bare minimum: ${WARMUP_PATIENTS} warm-up + ${PATIENTS} patients, read + write directly against the sandbox`);
if ((await adapterSubscriptions('off')) === 0) throw new Error('no adapter Subscription found in the sandbox');
{
  const client = createFhirClient(config, { baseUrl: fhirBase, fetch: delayedFetch });
  const caps = await readCapabilities(client);
  for (const [i, { patientId, body }] of casesFor(WARMUP_PATIENTS + PATIENTS, 'b').entries()) {
    await postTransaction(body);
    const precomputed = assessResources(await readPatientContext(client, patientId, caps)).transaction;
    if (!precomputed.entry?.some((e) => e.resource?.resourceType === 'Flag')) {
      throw new Error(`no Flag in the transaction for ${patientId}`);
    }
    const t0 = performance.now();
    await readPatientContext(client, patientId, caps);
    const t1 = performance.now();
    await writeResults(client, precomputed, caps);
    const t2 = performance.now();
    if (i < WARMUP_PATIENTS) continue;
    bare.read.push(t1 - t0);
    bare.write.push(t2 - t1);
    bare.total.push(t2 - t0);
  }
}

{
  const { status } = await fhir('Subscription', {
    method: 'POST',
    body: JSON.stringify({
      resourceType: 'Subscription',
      status: 'active',
      reason: 'benchmark: when a Flag becomes visible',
      criteria: 'Flag',
      channel: { type: 'rest-hook', endpoint: receiverUrl, payload: 'application/fhir+json' },
    } satisfies Subscription),
  });
  if (status !== 201) throw new Error(`Flag Subscription refused: ${status}`);
}

// ---------------------------------------------------------------------------------------------------------------
// 2. Notification-to-Flag for a single notification (the patient's data loaded without notifications)

interface LatencyRun {
  patientIds: string[];
  failed: number;
  loop: IntervalHistogram;
  wallMs: number;
}

async function latencyRun(patients: PatientCase[], notify: 'single' | 'sandbox'): Promise<LatencyRun> {
  let failed = 0;
  const loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  loop.enable();
  const t0 = performance.now();
  for (const { patientId, body } of patients) {
    const arrival = flagArrival(patientId);
    if (notify === 'single') {
      await postTransaction(body);
      stage(patientId, 'posted');
      stage(patientId, 'notifySent');
      const status = await notifyPatient(patientId, 0);
      stage(patientId, 'notifyAcked');
      if (status !== 200) throw new Error(`notification refused: ${status}`);
    } else {
      stage(patientId, 'posted');
      await postTransaction(body);
    }
    try {
      await arrival;
    } catch (err) {
      failed++;
      say(String(err));
    }
    // The rest of this transaction's notifications land before the next patient (their jobs may still wait).
    await sandbox?.waitForIdle();
  }
  const wallMs = performance.now() - t0;
  loop.disable();
  return { patientIds: patients.map((p) => p.patientId), failed, loop, wallMs };
}

say(`notification-to-Flag, one notification each: ${WARMUP_PATIENTS} warm-up + ${PATIENTS} patients`);
await latencyRun(casesFor(WARMUP_PATIENTS, 'sw'), 'single');
const single = await latencyRun(casesFor(PATIENTS, 's'), 'single');
await waitForQuiet(10_000);
const singleAssessments = single.patientIds.reduce((n, id) => n + (readsPerPatient.get(id) ?? 0), 0);
await adapterSubscriptions('active');

// ---------------------------------------------------------------------------------------------------------------
// 3. Notification-to-Flag as it happens (the sandbox notifies once per resource), and the FHIR round trips

say(`notification-to-Flag, transaction notified by the sandbox: ${WARMUP_PATIENTS} warm-up + ${PATIENTS} patients`);
await latencyRun(casesFor(WARMUP_PATIENTS, 'w'), 'sandbox');
await waitForQuiet(10_000);
requestKinds.clear();
sqlKinds.clear();
const sqlBefore = sqlStatements;
const assessmentsBefore = await assessmentsDone();
const notificationsBefore = notificationsDelivered;
const fanout = await latencyRun(casesFor(PATIENTS, 'p'), 'sandbox');
const quietAfterFanout = await waitForQuiet(15_000);
const assessments = (await assessmentsDone()) - assessmentsBefore;
const notificationsPerPatient = (notificationsDelivered - notificationsBefore) / PATIENTS;
const sqlPerPatient = (sqlStatements - sqlBefore) / PATIENTS;
const roundTrips = [...requestKinds].filter(([kind]) => kind !== 'GET metadata').sort((a, b) => b[1] - a[1]);
if (env.BENCH_DEBUG) {
  const top = [...sqlKinds].sort((a, b) => b[1] - a[1]).slice(0, 10);
  say(`SQL per patient:\n${top.map(([k, n]) => `  ${(n / PATIENTS).toFixed(1)}  ${k}`).join('\n')}`);
}

// ---------------------------------------------------------------------------------------------------------------
// 4. Coalescing: 100 notifications for one patient

interface Coalesced {
  assessments: number;
  writes: number;
  sentMs: number;
  quiet: boolean;
}

async function coalesce(patientId: string, spreadMs: number): Promise<Coalesced> {
  const reads0 = readsPerPatient.get(patientId) ?? 0;
  const writes0 = writesPerPatient.get(patientId) ?? 0;
  const t0 = performance.now();
  const sends: Promise<number>[] = [];
  for (let i = 0; i < COALESCE_COUNT; i++) {
    if (spreadMs > 0) await sleep(Math.max(0, t0 + (i * spreadMs) / COALESCE_COUNT - performance.now()));
    sends.push(notifyPatient(patientId, i + 1));
  }
  const statuses = await Promise.all(sends);
  const sentMs = performance.now() - t0;
  const refused = statuses.find((s) => s !== 200);
  if (refused !== undefined) throw new Error(`coalescing: a notification was refused (${refused})`);
  const quiet = await waitForQuiet(15_000);
  return {
    assessments: (readsPerPatient.get(patientId) ?? 0) - reads0,
    writes: (writesPerPatient.get(patientId) ?? 0) - writes0,
    sentMs,
    quiet,
  };
}

say(`coalescing: ${COALESCE_COUNT} notifications for one patient, over 1 s and at once`);
const spread = await coalesce(fanout.patientIds[0] as string, 1000);
const burst = await coalesce(fanout.patientIds[1] as string, 0);

// ---------------------------------------------------------------------------------------------------------------
// 5. Intake throughput from a child process, then the worker's drain rate

function intakeLoad(): Promise<LoadResult> {
  return closedLoopLoad(
    {
      url: service.url,
      secret,
      subscriptionId: 'benchmark',
      count: INTAKE_COUNT,
      warmup: INTAKE_WARMUP,
      concurrency: INTAKE_CONCURRENCY,
      patientPrefix: 'intake-',
    },
    60_000,
  );
}

say(
  `intake: ${INTAKE_WARMUP} warm-up + ${INTAKE_COUNT} notifications, one patient each, ${INTAKE_CONCURRENCY} in flight`,
);
const assessmentsBeforeIntake = await assessmentsDone();
const sqlBeforeIntake = sqlStatements;
const intakeLoop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
intakeLoop.enable();
enqueueTimes = [];
const intake = await intakeLoad();
const intakeEnqueueTimes = enqueueTimes;
intakeLoop.disable();
const assessedDuringIntake = (await assessmentsDone()) - assessmentsBeforeIntake;
const sqlPerNotification = (sqlStatements - sqlBeforeIntake) / intake.sent;
const backlogAfterIntake = (await service.queue.stats()).queued;

say(`draining the intake backlog for ${DRAIN_MS / 1000} s`);
const drainStart = await assessmentsDone();
await sleep(DRAIN_MS);
const drainPerSecond = ((await assessmentsDone()) - drainStart) / (DRAIN_MS / 1000);

// ---------------------------------------------------------------------------------------------------------------
// Shut down, clean up

say('stopping the service');
await withTimeout(service.close(), 20_000, 'service close').catch((err) => say(String(err)));
receiver.closeAllConnections();
await new Promise<void>((resolve) => receiver.close(() => resolve()));
await cleanup();

// ---------------------------------------------------------------------------------------------------------------
// Report

function stageValues(run: LatencyRun) {
  const rows = run.patientIds.map((id) => stages.get(id) ?? {});
  return (from: keyof Stages, to: keyof Stages): number[] =>
    rows.map((s) => {
      const a = s[from];
      const b = s[to];
      return a !== undefined && b !== undefined ? b - a : Number.NaN;
    });
}
const fan = stageValues(fanout);
const one = stageValues(single);
// Notification-to-Flag: from the first notification about the patient leaving the sandbox to the Flag at the receiver.
const fanToFlag = fan('notifySent', 'flagReceived');
const oneToFlag = one('notifySent', 'flagReceived');
const bareP50 = percentile(bare.total, 50);
const bareP99 = percentile(bare.total, 99);
const ratio = (values: number[], toCommit: number[]): string =>
  `${(percentile(values, 50) / bareP50).toFixed(1)}x (p99 ${(percentile(values, 99) / bareP99).toFixed(1)}x; ` +
  `to the Flag's commit ${(percentile(toCommit, 50) / bareP50).toFixed(1)}x)`;
const verdict = (ok: boolean): string => (ok ? 'yes' : '**no**');
const fhirRequests = roundTrips.reduce((sum, [, n]) => sum + n, 0);
const perAssessment = fhirRequests / Math.max(1, assessments);
const count = (n: number): string => n.toLocaleString('en-US');

const mainRows: string[][] = [
  [
    `Intake: notifications accepted per second (${count(INTAKE_COUNT)} signed Medplum-style Observation POSTs for ${count(INTAKE_COUNT)} patients, ${INTAKE_CONCURRENCY} in flight, after ${INTAKE_WARMUP} warm-up)`,
    `**${intake.perSecond.toFixed(0)}/s**${intake.errors ? ` (${intake.errors} not 2xx: ${JSON.stringify(intake.statuses)})` : ''}`,
    'none set',
    '',
  ],
  [
    'Intake: acknowledgement latency p50 / p99, client-measured',
    `${ms(intake.p50Ms)} / ${ms(intake.p99Ms)} ms`,
    'none set',
    '',
  ],
  [
    `Worker: assessments per second draining that backlog once the load stopped (unknown patients: 1 batch read each)`,
    `${drainPerSecond.toFixed(1)}/s`,
    'none set (>= intake rate to keep up)',
    '',
  ],
  [
    `Notification-to-Flag p50 / p99: transaction POSTed, the sandbox notifies per resource (${notificationsPerPatient.toFixed(1)} notifications per patient); first notification sent -> Flag at a loopback Subscription; ${PATIENTS} patients one at a time`,
    `**${p50p99(fanToFlag)} ms**${fanout.failed ? ` (${fanout.failed} Flags missing)` : ''}`,
    '',
    '',
  ],
  [
    'Same, counted from the transaction POST (includes writing the patient data)',
    `${p50p99(fan('posted', 'flagReceived'))} ms`,
    '',
    '',
  ],
  [
    `Notification-to-Flag p50 / p99 for a single notification (data loaded with the adapter's Subscriptions off, then one signed notification; ${PATIENTS} patients)`,
    `${p50p99(oneToFlag)} ms${single.failed ? ` (${single.failed} Flags missing)` : ''}`,
    '',
    '',
  ],
  [
    `Bare minimum p50 / p99: batch read + transaction write of a precomputed transaction, same data, same sandbox, same client (${PATIENTS} patients)`,
    `**${p50p99(bare.total)} ms** (read ${p50p99(bare.read)}, write ${p50p99(bare.write)})`,
    '',
    '',
  ],
  [
    'Notification-to-Flag / bare minimum, transaction as notified by the sandbox',
    `**${ratio(fanToFlag, fan('notifySent', 'flagCommitted'))}**`,
    '<= 1.5x',
    verdict(percentile(fanToFlag, 50) <= 1.5 * bareP50),
  ],
  [
    'Notification-to-Flag / bare minimum, single notification',
    ratio(oneToFlag, one('notifySent', 'flagCommitted')),
    '<= 1.5x',
    verdict(percentile(oneToFlag, 50) <= 1.5 * bareP50),
  ],
  [
    `FHIR round trips per assessment (transaction run: ${fhirRequests} requests, ${roundTrips.map(([k, n]) => `${k} ${n}`).join(', ')}; ${assessments} assessments)`,
    `**${perAssessment.toFixed(2)}**`,
    '2',
    verdict(perAssessment <= 2.005),
  ],
  [
    'Assessments per patient: transaction as notified by the sandbox / single notification',
    `${(assessments / PATIENTS).toFixed(2)} / ${(singleAssessments / PATIENTS).toFixed(2)} (round trips per transaction ${(fhirRequests / PATIENTS).toFixed(1)})`,
    '1 (one per change)',
    verdict(assessments / PATIENTS <= 1.005),
  ],
  [
    `Coalescing: ${COALESCE_COUNT} notifications for one patient spread evenly over ${(spread.sentMs / 1000).toFixed(2)} s -> assessments (writes)`,
    `**${spread.assessments}** (${spread.writes})${spread.quiet ? '' : ', queue not quiet after 15 s'}`,
    '<= 2',
    verdict(spread.assessments <= 2),
  ],
  [
    `Coalescing: ${COALESCE_COUNT} notifications for one patient at once (all sent in ${ms(burst.sentMs)} ms) -> assessments (writes)`,
    `**${burst.assessments}** (${burst.writes})${burst.quiet ? '' : ', queue not quiet after 15 s'}`,
    '<= 2',
    verdict(burst.assessments <= 2),
  ],
];

const stageDefs: [label: string, from: keyof Stages, to: keyof Stages, inSingle: boolean][] = [
  ['sandbox: transaction POSTed -> first notification sent', 'posted', 'notifySent', false],
  ['intake: notification sent -> enqueue starts (HTTP, HMAC, parse)', 'notifySent', 'enqueueStart', true],
  ['intake: enqueue (pg-boss insert committed)', 'enqueueStart', 'enqueued', true],
  ['queue: job committed -> worker sends the batch read', 'enqueued', 'readStart', true],
  ['batch read (request -> response headers)', 'readStart', 'readEnd', true],
  ['read body + assess + render (-> write sent)', 'readEnd', 'writeStart', true],
  ['transaction write sent -> Flag committed in the sandbox', 'writeStart', 'flagCommitted', true],
  ['Flag committed -> at the loopback receiver', 'flagCommitted', 'flagReceived', true],
  ['(in parallel) first notification sent -> acknowledged', 'notifySent', 'notifyAcked', true],
  ['(in parallel) first notification sent -> last one acknowledged', 'notifySent', 'lastNotifyAcked', false],
];
const stageRows = stageDefs.map(([label, from, to, inSingle]) => [
  label,
  p50p99(fan(from, to)),
  inSingle ? p50p99(one(from, to)) : '',
]);

const table = markdownTable;
/** monitorEventLoopDelay records whole timer intervals: the delay is what exceeds its resolution. */
const loopDelay = (h: IntervalHistogram): string => {
  const late = (ns: number): string => ms(Math.max(0, ns / 1e6 - LOOP_RESOLUTION_MS));
  return `p50 ${late(h.percentile(50))}, p99 ${late(h.percentile(99))}, max ${late(h.max)} ms`;
};

const settings = [
  `database ${DATABASE === 'postgres' ? 'PostgreSQL' : 'PGlite (in-process)'}`,
  `worker concurrency ${config.queueConcurrency}`,
  ...(FHIR_DELAY_MS > 0 ? [`${FHIR_DELAY_MS} ms added before every FHIR request`] : []),
  `queue options ${JSON.stringify(QUEUE_OPTIONS) === '{}' ? 'the defaults (pollingIntervalSeconds 2, poolSize 5)' : JSON.stringify(QUEUE_OPTIONS)}`,
  `load average at start ${LOAD_AT_START}`,
  `Node ${process.version}`,
  `${cpus().length} CPUs`,
  new Date().toISOString().slice(0, 10),
].join(', ');
const text = [
  `# Service benchmark (${DATABASE})`,
  '',
  `\`${DATABASE === 'postgres' ? 'BENCH_DATABASE=postgres ' : ''}npm run bench:service\`: ${settings}. ` +
    'Everything on 127.0.0.1; the service, its sandbox FHIR server and the measuring code share one process; ' +
    'the intake load comes from a child process.',
  '',
  table(['Measure', 'Result', 'Aim', 'Met'], mainRows),
  '',
  `Where the notification-to-Flag time goes, p50 / p99 ms per stage (${PATIENTS} patients each):`,
  '',
  table(['Stage', 'transaction, notified by the sandbox', 'single notification'], stageRows),
  '',
  `- Event-loop delay of the process: transaction run ${loopDelay(fanout.loop)}; single-notification run ${loopDelay(single.loop)}; intake run ${loopDelay(intakeLoop)}.`,
  `- Database statements: ${sqlPerPatient.toFixed(0)} per transaction in the transaction run; ${sqlPerNotification.toFixed(1)} per notification in the intake run (the worker's included).`,
  `- Intake run: the durable enqueue inside each request took ${p50p99(intakeEnqueueTimes)} ms (p50 / p99) of the ${ms(intake.p50Ms)} / ${ms(intake.p99Ms)} ms acknowledgement; ` +
    `${count(intake.measured)} notifications in ${(intake.wallMs / 1000).toFixed(1)} s, slowest ${ms(intake.maxMs)} ms; the worker finished ${count(assessedDuringIntake)} jobs meanwhile, ${count(backlogAfterIntake)} were still queued at its end.`,
  `- Transaction run: ${(fanout.wallMs / 1000).toFixed(1)} s for ${PATIENTS} patients; queue quiet afterwards: ${quietAfterFanout}.`,
  '',
].join('\n');

console.log(text);
const pair = (values: number[]): [number, number] => [percentile(values, 50), percentile(values, 99)];
await writeResultJson({
  database: DATABASE,
  patients: PATIENTS,
  bare: { total: pair(bare.total), read: pair(bare.read), write: pair(bare.write) },
  singleToFlag: pair(oneToFlag),
  sandboxToFlag: pair(fanToFlag),
  singleRatioP50: percentile(oneToFlag, 50) / bareP50,
  sandboxRatioP50: percentile(fanToFlag, 50) / bareP50,
  // Ending at the Flag's commit, as the bare minimum ends at the write's response (no delivery to a subscriber).
  singleToCommit: pair(one('notifySent', 'flagCommitted')),
  sandboxToCommit: pair(fan('notifySent', 'flagCommitted')),
  singleCommitRatioP50: percentile(one('notifySent', 'flagCommitted'), 50) / bareP50,
  sandboxCommitRatioP50: percentile(fan('notifySent', 'flagCommitted'), 50) / bareP50,
  stages: stageDefs.map(([label, from, to, inSingle]) => ({
    label,
    sandbox: pair(fan(from, to)),
    ...(inSingle ? { single: pair(one(from, to)) } : {}),
  })),
  intake: { perSecond: intake.perSecond, p50Ms: intake.p50Ms, p99Ms: intake.p99Ms, errors: intake.errors },
  drainPerSecond,
  roundTripsPerAssessment: perAssessment,
  coalesced: { spread: spread.assessments, burst: burst.assessments },
});
const dir = fileURLToPath(new URL('./results/', import.meta.url));
mkdirSync(dir, { recursive: true });
const file = DATABASE === 'postgres' ? 'service-postgres.md' : 'service.md';
writeFileSync(join(dir, file), text);
say(`written to bench/results/${file}`);
process.exit(0);
