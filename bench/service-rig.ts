/**
 * The adapter (startService) in this process against the sandbox FHIR server in a process of its own
 * (bench/sandbox-server.ts), on PGlite (a temporary data directory) or PostgreSQL (a schema of its own, dropped by
 * `close`), for the benchmarks that drive it with notifications: bench/sustained.ts, bench/soak.ts, bench/growth.ts.
 * With the server in its own process, this process's memory and event loop are the adapter's alone (and the load
 * generator's requests are answered by the adapter, not queued behind the server's work). The adapter runs as
 * against a real server: FHIR_BASE_URL set, no Subscriptions registered (SUBSCRIBE=false), no polling; the
 * benchmark sends the notifications itself.
 *
 * What it records without touching src/: per patient, when the adapter's batch read and transaction write went out
 * and came back (a wrapper of the FHIR client's fetch). For a patient whose first assessment writes a Flag, the
 * transaction's response (writeEnd) is the moment the Flag is committed and visible. Times are wall-clock
 * milliseconds (epochNow), so a load generator in another process can be compared with them.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { loadConfig } from '../src/config.ts';
import type { JobQueueOptions } from '../src/queue/job-queue.ts';
import { type RunningService, startService } from '../src/service/start-service.ts';
import { patientOf } from './sample-cases.ts';
import { sendSignedObservationUpdate } from './signed-notification.ts';
import { epochNow } from './stats.ts';

export type DatabaseKind = 'pglite' | 'postgres';
export const POSTGRES_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface PatientTimes {
  readStart?: number;
  readEnd?: number;
  writeStart?: number;
  writeEnd?: number;
  /** Batch reads (= assessments started) and transaction writes of this patient. */
  reads: number;
  writes: number;
}

export type Stage = 'readStart' | 'readEnd' | 'writeStart' | 'writeEnd';

export interface RigOptions {
  database: DatabaseKind;
  /** pg-boss options passed to the service (default: the service's own). */
  queue?: JobQueueOptions;
  /** Extra configuration variables (QUEUE_CONCURRENCY, ASSESS_THROTTLE_MS, ...). */
  env?: Record<string, string>;
}

export interface Rig {
  database: DatabaseKind;
  service: RunningService;
  fhirBase: string;
  notificationsUrl: string;
  secret: string;
  schema: string;
  /** Per patient: the adapter's FHIR round trips (the first of each; counts of reads and writes). */
  times: Map<string, PatientTimes>;
  /** Resolves with the epoch time the patient first reached `stage` (rejects after `timeoutMs`). */
  reached(patientId: string, stage: Stage, timeoutMs: number): Promise<number>;
  /** POSTs a FHIR transaction (JSON text) to the sandbox. */
  postTransaction(body: string): Promise<void>;
  /** One signed Medplum-style notification (an Observation update of the patient); resolves to the HTTP status. */
  notify(patientId: string, version: number): Promise<number>;
  /** Jobs queued or running. */
  backlog(): Promise<number>;
  assessmentsDone(): Promise<number>;
  /** Until the queue is empty twice in a row (false after `timeoutMs`). */
  waitForQuiet(timeoutMs: number): Promise<boolean>;
  /** Stops the service and the server, removes the queue's data (schema or directory). Idempotent. */
  close(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Drops a PostgreSQL schema made by a benchmark. */
export async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await client.end();
  }
}

/** A schema name unique to this process; BENCH_SCHEMA_PREFIX lets bench/all.ts find (and drop) leftovers. */
export function benchSchema(label: string): string {
  const prefix = (process.env.BENCH_SCHEMA_PREFIX ?? 'bench').replace(/[^a-z0-9_]/g, '');
  return `${prefix}_${label}_${process.pid}_${Date.now().toString(36)}`.slice(0, 63);
}

export const WEBHOOK_SECRET = 'irecist-benchmark-webhook-secret-0123456789';

/** Starts bench/sandbox-server.ts (heap BENCH_SANDBOX_HEAP_MB, 12,288 MB); resolves to its FHIR base URL and a way to stop it. */
/**
 * CPU time a process has used so far, in ms, from /proc (Linux; clock ticks of 1/100 s, the kernel's USER_HZ on every
 * Linux architecture this runs on); undefined elsewhere.
 */
function processCpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) * 10; // utime, stime (fields 14 and 15 of stat)
  } catch {
    return undefined;
  }
}

export async function startSandboxProcess(): Promise<{ baseUrl: string; stop(): void; cpuMs(): number | undefined }> {
  // The sandbox keeps every version in memory: 11,000 patients of 10 scans (bench:backfill) pass V8's default 4 GB.
  const heapMb = process.env.BENCH_SANDBOX_HEAP_MB ?? '12288';
  const script = fileURLToPath(new URL('./sandbox-server.ts', import.meta.url));
  // BENCH_SANDBOX_CPU_PROF=<dir>: a CPU profile of the sandbox process (written when its stdin closes).
  const profileDir = process.env.BENCH_SANDBOX_CPU_PROF;
  const profile = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  const child = spawn(process.execPath, [`--max-old-space-size=${heapMb}`, ...profile, script], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const stop = (): void => {
    child.stdin?.end();
    setTimeout(() => child.kill('SIGKILL'), 3_000).unref();
  };
  const baseUrl = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString('utf8');
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) resolve((JSON.parse(line) as { baseUrl: string }).baseUrl);
    });
    child.once('exit', (code) => reject(new Error(`sandbox server exited with ${code}`)));
    setTimeout(() => reject(new Error('sandbox server did not start within 60 s')), 60_000).unref();
  }).catch((err) => {
    stop();
    throw err;
  });
  return { baseUrl, stop, cpuMs: () => processCpuMs(child.pid) };
}

export async function startRig(options: RigOptions): Promise<Rig> {
  const dataDir = mkdtempSync(join(tmpdir(), 'irecist-bench-'));
  const schema = benchSchema(options.database === 'postgres' ? 'pg' : 'pgl');
  const server = await startSandboxProcess();
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    DATA_DIR: dataDir,
    FHIR_BASE_URL: server.baseUrl,
    WEBHOOK_SECRET,
    SUBSCRIBE: 'false',
    // Notifications are posted to the adapter as a server would; without this it would poll `_lastUpdated` every
    // 60 s, and its first run (a week back) would queue every loaded patient in the middle of the measurement.
    CHANGE_DETECTION: 'subscriptions',
    POLL_INTERVAL_SECONDS: '0',
    ...(options.database === 'postgres' ? { DATABASE_URL: POSTGRES_URL } : {}),
    ...options.env,
    // BENCH_ADAPTER_ENV (JSON): more adapter settings for a comparison, e.g. '{"CHART_THREAD":"false"}'.
    ...(JSON.parse(process.env.BENCH_ADAPTER_ENV ?? '{}') as Record<string, string>),
  });
  config.port = 0;

  const times = new Map<string, PatientTimes>();
  const timesOf = (patientId: string): PatientTimes => {
    let t = times.get(patientId);
    if (!t) {
      t = { reads: 0, writes: 0 };
      times.set(patientId, t);
    }
    return t;
  };
  const waiters = new Map<string, Set<() => void>>();
  /** Records the first time the patient reaches `stage` and wakes whoever waits for it. */
  const mark = (patientId: string, stage: Stage): void => {
    const t = timesOf(patientId);
    if (t[stage] !== undefined) return;
    t[stage] = epochNow();
    for (const wake of waiters.get(patientId) ?? []) wake();
  };
  let fhirBasePath = '/fhir/R4';
  const realFetch = globalThis.fetch;
  // The adapter's FHIR client: note each batch read and transaction write per patient.
  const timingFetch = async (input: string, init: RequestInit = {}): Promise<Response> => {
    const method = (init.method ?? 'GET').toUpperCase();
    const path = new URL(input).pathname.slice(fhirBasePath.length).replace(/\/+$/, '');
    const body = method === 'POST' && path === '' && typeof init.body === 'string' ? init.body : '';
    const type = body ? /"type":"(batch|transaction)"/.exec(body.slice(0, 400))?.[1] : undefined;
    const patientId = type ? patientOf(body) : undefined;
    if (!patientId) return realFetch(input, init);
    const t = timesOf(patientId);
    if (type === 'batch') t.reads++;
    else t.writes++;
    mark(patientId, type === 'batch' ? 'readStart' : 'writeStart');
    const response = await realFetch(input, init);
    mark(patientId, type === 'batch' ? 'readEnd' : 'writeEnd');
    return response;
  };

  const fhirBase = server.baseUrl;
  fhirBasePath = new URL(fhirBase).pathname;
  const service = await startService(config, {
    host: '127.0.0.1',
    schema,
    fetch: timingFetch,
    ...(options.queue ? { queue: options.queue } : {}),
  }).catch((err) => {
    server.stop();
    throw err;
  });
  const notificationsUrl = `${service.url}/notifications`;
  const secret = config.webhook.secret;

  let closing: Promise<void> | undefined;
  const rig: Rig = {
    database: options.database,
    service,
    fhirBase,
    notificationsUrl,
    secret,
    schema,
    times,

    reached(patientId, stage, timeoutMs) {
      const done = times.get(patientId)?.[stage];
      if (done !== undefined) return Promise.resolve(done);
      return new Promise<number>((resolve, reject) => {
        const set = waiters.get(patientId) ?? new Set<() => void>();
        waiters.set(patientId, set);
        const forget = (): void => {
          clearTimeout(timer);
          set.delete(wake);
          if (set.size === 0) waiters.delete(patientId);
        };
        const wake = (): void => {
          const at = times.get(patientId)?.[stage];
          if (at === undefined) return;
          forget();
          resolve(at);
        };
        const timer = setTimeout(() => {
          forget();
          reject(new Error(`${patientId} did not reach ${stage} within ${timeoutMs} ms`));
        }, timeoutMs);
        set.add(wake);
      });
    },

    async postTransaction(body) {
      // A keep-alive connection the server is closing just then resets; the transaction is all PUTs, so resend.
      for (let attempt = 1; ; attempt++) {
        try {
          const res = await realFetch(fhirBase, {
            method: 'POST',
            headers: { 'content-type': 'application/fhir+json' },
            body,
          });
          await res.arrayBuffer();
          if (res.status !== 200) throw new Error(`transaction refused: ${res.status}`);
          return;
        } catch (err) {
          if (attempt >= 3 || !String((err as { cause?: unknown }).cause ?? err).includes('ECONNRESET')) throw err;
        }
      }
    },

    notify(patientId, version) {
      return sendSignedObservationUpdate(realFetch, notificationsUrl, secret, {
        observationId: `${patientId}-bench-obs`,
        patientId,
        version,
      });
    },

    async backlog() {
      const s = await service.queue.stats();
      return s.queued + s.active;
    },

    async assessmentsDone() {
      const metric = await service.metrics.jobs.get();
      return metric.values
        .filter((v) => v.labels.kind === 'assess-patient' && v.labels.outcome === 'done')
        .reduce((sum, v) => sum + v.value, 0);
    },

    async waitForQuiet(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      let quiet = 0;
      while (Date.now() < deadline) {
        quiet = (await rig.backlog()) === 0 ? quiet + 1 : 0;
        if (quiet >= 2) return true;
        await sleep(50);
      }
      return false;
    },

    close() {
      closing ??= (async () => {
        await Promise.race([service.close(), sleep(20_000)]).catch(() => undefined);
        server.stop();
        rmSync(dataDir, { recursive: true, force: true });
        if (options.database === 'postgres') await dropSchema(schema);
      })();
      return closing;
    },
  };
  return rig;
}

/** Loads the patients' transactions into the sandbox, `parallel` at a time. */
export async function loadPatients(rig: Rig, bodies: readonly string[], parallel = 4): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < bodies.length) await rig.postTransaction(bodies[next++] as string);
  };
  await Promise.all(Array.from({ length: parallel }, lane));
}
