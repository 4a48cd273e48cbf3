/**
 * The service under measurement: startService on its sandbox (PGlite in a temporary directory or a PostgreSQL schema
 * of its own), instrumented, plus what the phases drive it with: FHIR calls straight to the sandbox, signed
 * notifications, the adapter's Subscriptions on and off, and a loopback receiver subscribed to Flag (the moment a
 * patient's Flag is visible to others).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bundle, Resource, Subscription } from '@medplum/fhirtypes';
import pg from 'pg';
import { type Config, loadConfig } from '../../src/config.ts';
import type { Sandbox } from '../../src/sandbox/index.ts';
import { type RunningService, startService } from '../../src/service/start-service.ts';
import { patientOf } from '../sample-cases.ts';
import { benchSchema } from '../service-rig.ts';
import { sendSignedObservationUpdate } from '../signed-notification.ts';
import {
  countingFetch,
  countSqlStatements,
  realFetch,
  stage,
  stages,
  timeNotificationDeliveries,
} from './instrumentation.ts';
import { DATABASE, FLAG_TIMEOUT_MS, POSTGRES_URL, QUEUE_OPTIONS, sleep, withTimeout } from './settings.ts';

export interface BenchHarness {
  config: Config;
  service: RunningService;
  sandbox: Sandbox;
  fhirBase: string;
  /** Durations of the intake's durable enqueue calls since the last reset. */
  enqueueTimes: number[];
  fhir<T = Resource>(path: string, init?: RequestInit): Promise<{ status: number; body: T }>;
  postTransaction(body: string): Promise<void>;
  assessmentsDone(): Promise<number>;
  waitForQuiet(timeoutMs: number): Promise<boolean>;
  adapterSubscriptions(status: 'active' | 'off'): Promise<number>;
  notifyPatient(patientId: string, i: number): Promise<number>;
  /** Subscribes the loopback receiver to Flag in the sandbox. */
  subscribeFlagReceiver(): Promise<void>;
  flagArrival(patientId: string): Promise<void>;
  /** Stops the service and the receiver, drops the data directory and the schema. */
  close(): Promise<void>;
}

/** Drops what a run created (data directory, PostgreSQL schema); safe to call twice. */
export function runCleanup(dataDir: string, schema: string): () => Promise<void> {
  return async () => {
    rmSync(dataDir, { recursive: true, force: true });
    if (DATABASE !== 'postgres') return;
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.end();
  };
}

/** Starts the instrumented service and the Flag receiver. */
export async function startHarness(setCleanup: (cleanup: () => Promise<void>) => void): Promise<BenchHarness> {
  const dataDir = mkdtempSync(join(tmpdir(), 'irecist-bench-'));
  const schema = benchSchema('svc');
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    DATA_DIR: dataDir,
    ...(DATABASE === 'postgres' ? { DATABASE_URL: POSTGRES_URL } : {}),
    ...(process.env.QUEUE_CONCURRENCY ? { QUEUE_CONCURRENCY: process.env.QUEUE_CONCURRENCY } : {}),
  });
  config.port = 0;
  const cleanup = runCleanup(dataDir, schema);
  setCleanup(cleanup);

  let fhirBasePath = '/fhir/R4';
  let notificationsUrl = '';
  timeNotificationDeliveries(() => notificationsUrl);
  countSqlStatements();
  const service = await startService(config, {
    host: '127.0.0.1',
    schema,
    fetch: countingFetch(() => fhirBasePath),
    queue: QUEUE_OPTIONS,
  });
  const sandbox = service.sandbox;
  if (!sandbox) throw new Error('the service did not start its sandbox');
  const fhirBase = sandbox.baseUrl;
  fhirBasePath = new URL(fhirBase).pathname;
  notificationsUrl = `${service.url}/notifications`;
  const enqueueTimes = timeEnqueues(service);
  timeFlagCommits(sandbox);
  const receiver = await startFlagReceiver();

  const fhir = async <T = Resource>(path: string, init: RequestInit = {}): Promise<{ status: number; body: T }> => {
    const res = await realFetch(`${fhirBase}/${path}`, {
      ...init,
      headers: { 'content-type': 'application/fhir+json', ...(init.headers ?? {}) },
    });
    return { status: res.status, body: (await res.json()) as T };
  };
  const assessmentsDone = async (): Promise<number> => {
    const metric = await service.metrics.jobs.get();
    return metric.values
      .filter((v) => v.labels.kind === 'assess-patient' && v.labels.outcome === 'done')
      .reduce((sum, v) => sum + v.value, 0);
  };

  return {
    config,
    service,
    sandbox,
    fhirBase,
    enqueueTimes,
    fhir,
    postTransaction: async (body) => {
      const headers = { 'content-type': 'application/fhir+json' };
      const res = await realFetch(fhirBase, { method: 'POST', headers, body });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`transaction refused: ${res.status}`);
    },
    assessmentsDone,
    waitForQuiet: (timeoutMs) => waitForQuiet(service, sandbox, timeoutMs),
    adapterSubscriptions: async (status) => {
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
    },
    notifyPatient: (patientId, i) =>
      sendSignedObservationUpdate(realFetch, notificationsUrl, config.webhook.secret, {
        observationId: `${patientId}-L1-t2`,
        patientId,
        version: i,
      }),
    subscribeFlagReceiver: async () => {
      const { status } = await fhir('Subscription', {
        method: 'POST',
        body: JSON.stringify({
          resourceType: 'Subscription',
          status: 'active',
          reason: 'benchmark: when a Flag becomes visible',
          criteria: 'Flag',
          channel: { type: 'rest-hook', endpoint: receiver.url, payload: 'application/fhir+json' },
        } satisfies Subscription),
      });
      if (status !== 201) throw new Error(`Flag Subscription refused: ${status}`);
    },
    flagArrival: receiver.arrival,
    close: async () => {
      await withTimeout(service.close(), 20_000, 'service close').catch((err) => process.stderr.write(`${err}\n`));
      receiver.server.closeAllConnections();
      await new Promise<void>((resolve) => receiver.server.close(() => resolve()));
      await cleanup();
    },
  };
}

/** The intake's durable enqueue: start-service calls queue.enqueue on this very object for every notification. */
function timeEnqueues(service: RunningService): number[] {
  const enqueue = service.queue.enqueue.bind(service.queue);
  const times: number[] = [];
  service.queue.enqueue = async (jobs, options) => {
    const ids = jobs.flatMap((j) => (j.kind === 'assess-patient' ? [j.patientId] : []));
    const t0 = performance.now();
    for (const id of ids) stage(id, 'enqueueStart', t0);
    const result = await enqueue(jobs, options);
    const t1 = performance.now();
    for (const id of ids) stage(id, 'enqueued', t1);
    times.push(t1 - t0);
    return result;
  };
  return times;
}

function timeFlagCommits(sandbox: Sandbox): void {
  sandbox.repo.onCommit((events) => {
    const at = performance.now();
    for (const e of events) {
      if (e.resource.resourceType !== 'Flag' || e.interaction !== 'create') continue;
      stage(patientOf(JSON.stringify((e.resource as { subject?: unknown }).subject ?? {})), 'flagCommitted', at);
    }
  });
}

/** Until every notification is delivered and nothing is queued or running (false after `timeoutMs`). */
async function waitForQuiet(service: RunningService, sandbox: Sandbox, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let quiet = 0;
  while (Date.now() < deadline) {
    await sandbox.waitForIdle();
    const s = await service.queue.stats();
    quiet = s.queued + s.active === 0 ? quiet + 1 : 0;
    if (quiet >= 2) return true;
    await sleep(50);
  }
  return false;
}

/** A loopback receiver: resolves `arrival(patientId)` when that patient's Flag is delivered to it. */
async function startFlagReceiver(): Promise<{ server: Server; url: string; arrival(id: string): Promise<void> }> {
  const waiters = new Map<string, () => void>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = performance.now();
      const patientId = patientOf(Buffer.concat(chunks).toString('utf8'));
      if (patientId) {
        stage(patientId, 'flagReceived', at);
        waiters.get(patientId)?.();
      }
      res.writeHead(200, { 'content-type': 'application/fhir+json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/flag`;
  const arrival = (patientId: string): Promise<void> => {
    if (stages.get(patientId)?.flagReceived !== undefined) return Promise.resolve();
    return withTimeout(
      new Promise<void>((resolve) => waiters.set(patientId, resolve)),
      FLAG_TIMEOUT_MS,
      `Flag of ${patientId}`,
    ).finally(() => waiters.delete(patientId));
  };
  return { server, url, arrival };
}
