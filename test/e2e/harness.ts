/** Starts the whole service (sandbox mode) on an ephemeral port for end-to-end tests over real HTTP. */
import { mkdtempSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import express from 'express';
import pg from 'pg';
import { pino } from 'pino';
import type { SandboxProfileName } from '../../src/config/change-detection.ts';
import { loadConfig } from '../../src/config.ts';
import type { FetchFn } from '../../src/fhir/client-factory.ts';
import type { Logger } from '../../src/logging.ts';
import type { JobQueue, JobQueueOptions } from '../../src/queue/job-queue.ts';
import { createSandbox, type Sandbox, type SandboxRepository } from '../../src/sandbox/index.ts';
import { createLoadRouter } from '../../src/sandbox/load-router.ts';
import { type RunningService, startService } from '../../src/service/start-service.ts';

export const POSTGRES_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export async function startTestService(options: {
  database: 'postgres' | 'pglite';
  schema?: string;
  dataDir?: string;
  /** More environment (e.g. SANDBOX_PROFILE=epic). */
  env?: Record<string, string>;
}): Promise<RunningService> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'irecist-e2e-'));
  const config = loadConfig({
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
    DATA_DIR: dataDir,
    ...(options.database === 'postgres' ? { DATABASE_URL: POSTGRES_URL } : {}),
    ...options.env,
  });
  config.port = 0;
  return startService(config, {
    host: '127.0.0.1',
    schema: options.schema ?? `e2e_${process.pid}_${Date.now().toString(36)}`,
    queue: { retry: { attempts: 3, delaySeconds: 1, backoff: false }, pollingIntervalSeconds: 0.5 },
  });
}

/** Waits until the sandbox has delivered every notification and the queue has nothing queued or running. */
export async function waitForQuiet(service: RunningService, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let quietRounds = 0;
  while (Date.now() < deadline) {
    await service.sandbox?.waitForIdle();
    const s = await service.queue.stats();
    quietRounds = s.queued + s.active === 0 ? quietRounds + 1 : 0;
    if (quietRounds >= 3) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('service did not become quiet in time');
}

export async function fhir<T = Resource>(
  service: RunningService,
  path: string,
  init?: RequestInit,
): Promise<{ status: number; body: T }> {
  const res = await fetch(`${service.url}/fhir/R4/${path}`, {
    ...init,
    headers: { 'content-type': 'application/fhir+json', ...(init?.headers ?? {}) },
  });
  return { status: res.status, body: (await res.json()) as T };
}

export const resourcesOf = <T extends Resource>(b: Bundle): T[] => (b.entry ?? []).map((e) => e.resource as T);

// ------------------------------------------------------------------------------------------------------------------
// Reliability tests: a FHIR server of its own (the sandbox on its own port, no Subscriptions, so nothing notifies the
// adapter unless a test does), adapters in non-sandbox mode pointed at it, notifications sent by the test.

/** The webhook secret of adapters started with startAdapter. */
export const WEBHOOK_SECRET = 'e2e-reliability-webhook-secret-0123456789';

/** A schema name unique to this process and call. */
export function uniqueSchema(label: string): string {
  return `e2e_${label}_${process.pid}_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6).toString(36)}`;
}

/** Drops a test schema (best effort; the queue and the state live there). */
export async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  try {
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } catch {
    // best effort
  } finally {
    await client.end().catch(() => undefined);
  }
}

export interface SandboxServer {
  /** http://127.0.0.1:PORT */
  url: string;
  /** The FHIR base: `${url}/fhir/R4`. */
  baseUrl: string;
  sandbox: Sandbox;
  repo: SandboxRepository;
  close(): Promise<void>;
}

/**
 * The sandbox FHIR server alone, on its own ephemeral port (src/sandbox createSandbox on an express app), with
 * POST /sandbox/load; `profile` makes it imitate another server (SANDBOX_PROFILE).
 */
export async function startSandboxServer(options: { profile?: SandboxProfileName } = {}): Promise<SandboxServer> {
  const app = express();
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(0, '127.0.0.1', (err?: Error) => (err ? reject(err) : resolve(s)));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const sandbox = createSandbox({
    baseUrl: `${url}/fhir/R4`,
    ...(options.profile ? { profile: options.profile } : {}),
  });
  app.use('/fhir/R4', sandbox.router);
  app.use(createLoadRouter({ load: sandbox.load, baseUrl: sandbox.baseUrl, logger: pino({ level: 'silent' }) }));
  return {
    url,
    baseUrl: sandbox.baseUrl,
    sandbox,
    repo: sandbox.repo,
    close: async () => {
      await sandbox.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
    },
  };
}

/** Tiny retry delays and fast polling, so a retried job runs within a second. */
export const FAST_QUEUE: JobQueueOptions = {
  retry: { attempts: 3, delaySeconds: 0, backoff: false },
  pollingIntervalSeconds: 0.5,
};

/**
 * The adapter in non-sandbox mode against `fhirBaseUrl` (FHIR_BASE_URL, WEBHOOK_SECRET, SUBSCRIBE=false: no
 * Subscriptions registered, no polling), on PostgreSQL in `schema`.
 */
export async function startAdapter(options: {
  fhirBaseUrl: string;
  schema: string;
  fetch?: FetchFn;
  queue?: JobQueueOptions;
  env?: Record<string, string>;
  logger?: Logger;
}): Promise<RunningService> {
  const config = loadConfig({
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
    DATA_DIR: mkdtempSync(join(tmpdir(), 'irecist-e2e-')),
    DATABASE_URL: POSTGRES_URL,
    FHIR_BASE_URL: options.fhirBaseUrl,
    WEBHOOK_SECRET,
    SUBSCRIBE: 'false',
    POLL_INTERVAL_SECONDS: '0',
    ...options.env,
  });
  config.port = 0;
  return startService(config, {
    host: '127.0.0.1',
    schema: options.schema,
    queue: options.queue ?? FAST_QUEUE,
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
  });
}

/** POSTs a transaction or collection Bundle to `${origin}/sandbox/load`; fails the test unless it answers 200. */
export async function loadIntoSandbox(origin: string, bundle: Bundle): Promise<Bundle> {
  const res = await fetch(`${origin}/sandbox/load`, {
    method: 'POST',
    headers: { 'content-type': 'application/fhir+json' },
    body: JSON.stringify(bundle),
  });
  const body = (await res.json()) as Bundle;
  if (res.status !== 200)
    throw new Error(`POST ${origin}/sandbox/load answered ${res.status}: ${JSON.stringify(body)}`);
  return body;
}

/** Posts a transaction (or batch) Bundle to a FHIR base over HTTP; fails the test unless it answers 200. */
export async function postBundle(baseUrl: string, bundle: Bundle): Promise<Bundle> {
  const res = await fetch(baseUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/fhir+json' },
    body: JSON.stringify(bundle),
  });
  const body = (await res.json()) as Bundle;
  if (res.status !== 200) throw new Error(`POST ${baseUrl} answered ${res.status}: ${JSON.stringify(body)}`);
  return body;
}

export interface Notification {
  method?: 'POST' | 'PUT' | 'DELETE';
  /** Default /notifications. */
  path?: string;
  headers?: Record<string, string>;
  /** JSON body (stringified) or the exact text. */
  body?: unknown;
  rawBody?: string;
}

/** Sends one notification to an adapter with `Authorization: Bearer WEBHOOK_SECRET`. */
export async function notify(adapterUrl: string, n: Notification): Promise<Response> {
  const body = n.rawBody ?? (n.body === undefined ? undefined : JSON.stringify(n.body));
  return fetch(`${adapterUrl}${n.path ?? '/notifications'}`, {
    method: n.method ?? 'POST',
    headers: { authorization: `Bearer ${WEBHOOK_SECRET}`, ...(n.headers ?? {}) },
    ...(body === undefined ? {} : { body }),
  });
}

/** A Medplum rest-hook notification: the resource version as the body (what the sandbox's notifier sends). */
export function medplumNotification(resource: Resource, interaction: 'create' | 'update' = 'create'): Notification {
  return {
    headers: {
      'content-type': 'application/fhir+json',
      'x-medplum-subscription': 'e2e-subscription',
      'x-medplum-interaction': interaction,
    },
    body: resource,
  };
}

/** Waits until every queue of the schema has nothing queued, retrying or running (several quiet reads in a row). */
export async function waitForQueueQuiet(queue: JobQueue, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let quietRounds = 0;
  while (Date.now() < deadline) {
    const s = await queue.stats();
    quietRounds = s.queued + s.active === 0 ? quietRounds + 1 : 0;
    if (quietRounds >= 3) return;
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error('queue did not become quiet in time');
}

/** Polls `check` until it returns a truthy value (which is returned), or fails after `timeoutMs`. */
export async function waitFor<T>(check: () => Promise<T> | T, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The value of one Prometheus sample in a /metrics text (undefined when absent). */
export function metricValue(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const close = line.indexOf('}');
    const labelText = line.slice(name.length + 1, close);
    const found = Object.fromEntries(
      [...labelText.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1] as string, m[2] as string]),
    );
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(line.slice(close + 1).trim());
  }
  return undefined;
}

/**
 * What one of the adapter's FHIR requests is about: a patient's context read (`read`: the batch whose first entry
 * reads the Patient; in the worker it carries the searches for the adapter's earlier results too,
 * src/fhir/read-context-and-earlier.ts), a separate read-back of the adapter's earlier results (`earlier`: the batch
 * of searches by subject or patient, src/fhir/written-resources.ts; only where the context read could not give them
 * all, or in a backfill) or its result write (`write`: the transaction; the patient from the entries' subject).
 * Undefined for the rest.
 */
export function patientRequest(
  url: string,
  base: string,
  init?: RequestInit,
): { kind: 'read' | 'earlier' | 'write'; patientId: string } | undefined {
  if ((init?.method ?? 'GET') !== 'POST' || url.replace(/\/+$/, '') !== base || typeof init?.body !== 'string')
    return undefined;
  const bundle = JSON.parse(init.body) as Bundle;
  if (bundle.type === 'batch') {
    const first = bundle.entry?.[0]?.request?.url ?? '';
    if (first.startsWith('Patient/')) return { kind: 'read', patientId: decodeURIComponent(first.slice(8)) };
    const searched = /[?&](?:subject|patient)=Patient(?:\/|%2F)([^&]+)/i.exec(first)?.[1];
    return searched ? { kind: 'earlier', patientId: decodeURIComponent(searched) } : undefined;
  }
  if (bundle.type === 'transaction') {
    for (const e of bundle.entry ?? []) {
      const ref = (e.resource as { subject?: { reference?: string } } | undefined)?.subject?.reference;
      if (ref?.startsWith('Patient/')) return { kind: 'write', patientId: ref.slice(8) };
    }
  }
  return undefined;
}
