/**
 * Backlog drain (`npm run bench:drain`): how fast a queue of assessments empties, in assessments per second per
 * adapter process, beside the bare round-trip throughput at the same concurrency measured in the same run.
 *
 * Per configuration (PGlite with 1 process; PostgreSQL with 1 and 2 processes: a PGlite directory belongs to one
 * process), a fresh sandbox FHIR server in a process of its own is loaded with 2 x BENCH_DRAIN_PATIENTS patients
 * (the sample cases that write a Flag), then
 *   - bare: for one half, BENCH_DRAIN_CONCURRENCY x processes lanes each make the batch read and the transaction
 *     write of a precomputed result directly, patient after patient (the adapter's own client, no queue, no
 *     pipeline): patients / wall time;
 *   - adapter: `processes` adapter processes (bench/drain-process.ts) with QUEUE_CONCURRENCY (and its MIN and MAX,
 *     so the adaptive limit stays at the bare lanes' concurrency) = BENCH_DRAIN_CONCURRENCY on one queue; after a warm-up, one process queues one assess-patient job per patient
 *     of the other half in one call, and the drain rate is patients / (last transaction answered - jobs committed).
 * The aims (issue #13): at least 100 assessments/s per process, and within 1.5x of the bare throughput.
 *
 * Knobs: BENCH_DRAIN_PATIENTS (1000; 200 quick), BENCH_DRAIN_CONCURRENCY (4), BENCH_DRAIN_CONFIGS
 * (`pglite:1,postgres:1,postgres:2`), BENCH_DRAIN_ENV (JSON: more adapter settings, e.g. '{"QUEUE_ADAPTIVE":"false"}'),
 * BENCH_QUICK=1, BENCH_DEADLINE_S, BENCH_RESULT_JSON (machine-readable result for bench/all.ts), BENCH_CPU_PROF=<dir>
 * (a CPU profile of each adapter process).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Bundle } from '@medplum/fhirtypes';
import { loadConfig } from '../src/config.ts';
import { readCapabilities } from '../src/fhir/capabilities.ts';
import { createFhirClient } from '../src/fhir/client-factory.ts';
import { readContextAndEarlierResults } from '../src/fhir/read-context-and-earlier.ts';
import { writeResults } from '../src/fhir/write-results.ts';
import { logger } from '../src/logging.ts';
import { assessResources } from '../src/pipeline/assess-resources.ts';
import type { DrainReport } from './drain-process.ts';
import { envInt, installDeadline, onAbort, quickMode, say, writeResultJson } from './run-control.ts';
import { casesFor } from './sample-cases.ts';
import { benchSchema, dropSchema, POSTGRES_URL, startSandboxProcess, WEBHOOK_SECRET } from './service-rig.ts';
import { markdownTable } from './stats.ts';

const quick = quickMode();
const PATIENTS = envInt('BENCH_DRAIN_PATIENTS', quick ? 200 : 1000, 10, 100_000);
const CONCURRENCY = envInt('BENCH_DRAIN_CONCURRENCY', 4, 1, 64);
const WARMUP = Math.min(50, Math.ceil(PATIENTS / 10));
const CONFIGS = (process.env.BENCH_DRAIN_CONFIGS ?? 'pglite:1,postgres:1,postgres:2').split(',').map((c) => {
  const [database, processes] = c.split(':');
  return { database: database === 'postgres' ? 'postgres' : 'pglite', processes: Number(processes ?? 1) || 1 } as const;
});
const EXTRA_ENV = JSON.parse(process.env.BENCH_DRAIN_ENV ?? '{}') as Record<string, string>;
export const DRAIN_RATE_AIM = 100;
export const DRAIN_RATIO_AIM = 1.5;
logger.level = 'silent';
installDeadline(envInt('BENCH_DEADLINE_S', quick ? 400 : 1800, 30, 36_000));

export interface DrainRow {
  database: 'pglite' | 'postgres';
  processes: number;
  patients: number;
  concurrency: number;
  /** Bare round trips (batch read + transaction write), concurrency x processes lanes: patients per second. */
  bareRate: number;
  /** Adapter: patients per second over all processes, and per process. */
  rate: number;
  ratePerProcess: number;
  /** bareRate / rate. */
  ratio: number;
  drainSeconds: number;
  inFlightMean: number;
  inFlightMax: number;
  cpuPercentPerProcess: number;
  throttled: number;
  /** CPU per assessment: the adapter processes (their whole work: queue, pipeline, database client or PGlite). */
  adapterCpuMsEach: number;
  /** CPU per assessment of the sandbox FHIR server, while the adapter drained and while the bare lanes ran (Linux). */
  sandboxCpuMsEach?: number;
  bareSandboxCpuMsEach?: number;
  requests: DrainReport['requests'][];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const realFetch = globalThis.fetch;

async function post(fhirBase: string, body: string): Promise<void> {
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
      if (attempt >= 3) throw err;
    }
  }
}

/** Runs `work` over the items, `lanes` at a time. */
async function inLanes<T>(items: readonly T[], lanes: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) await work(items[next++] as T);
  };
  await Promise.all(Array.from({ length: lanes }, lane));
}

/**
 * The bare round trips: precomputed results, then per patient the adapter's own batch read (context and its earlier
 * results) and the transaction write, `lanes` at a time.
 */
async function bareRate(
  fhirBase: string,
  patientIds: readonly string[],
  lanes: number,
  sandboxCpuMs: () => number | undefined,
): Promise<{ rate: number; sandboxCpuMsEach?: number }> {
  const config = loadConfig({ FHIR_BASE_URL: fhirBase, WEBHOOK_SECRET, LOG_LEVEL: 'silent' });
  const client = createFhirClient(config, { baseUrl: fhirBase, fetch: realFetch });
  const caps = await readCapabilities(client);
  const precomputed = new Map<string, Bundle>();
  await inLanes(patientIds, lanes, async (id) => {
    precomputed.set(id, assessResources((await readContextAndEarlierResults(client, id, caps)).context).transaction);
  });
  const t0 = performance.now();
  const cpu0 = sandboxCpuMs();
  await inLanes(patientIds, lanes, async (id) => {
    await readContextAndEarlierResults(client, id, caps);
    await writeResults(client, precomputed.get(id) as Bundle, caps);
  });
  const rate = patientIds.length / ((performance.now() - t0) / 1000);
  const cpu1 = sandboxCpuMs();
  return cpu0 === undefined || cpu1 === undefined
    ? { rate }
    : { rate, sandboxCpuMsEach: (cpu1 - cpu0) / patientIds.length };
}

interface Adapter {
  child: ChildProcess;
  ask<T>(message: object, reply: string): Promise<T>;
}

function startAdapter(env: Record<string, string>): Promise<Adapter> {
  // BENCH_CPU_PROF=<dir>: one CPU profile per adapter process (NODE_OPTIONS may not carry --cpu-prof).
  const profileDir = process.env.BENCH_CPU_PROF;
  const child = fork(fileURLToPath(new URL('./drain-process.ts', import.meta.url)), [], {
    env: { ...process.env, ...env },
    execArgv: [...process.execArgv, ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [])],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const ask = <T>(message: object, reply: string): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const onMessage = (m: { type: string }): void => {
        if (m.type !== reply) return;
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(m as T);
      };
      const onExit = (code: number | null): void => reject(new Error(`adapter process exited with ${code}`));
      child.on('message', onMessage);
      child.once('exit', onExit);
      if (Object.keys(message).length > 0) child.send(message);
    });
  return ask<unknown>({}, 'ready').then(() => ({ child, ask }));
}

/** Until the adapters together have answered `total` transactions (false after `timeoutMs`). */
async function waitForWrites(adapters: readonly Adapter[], total: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const counts = await Promise.all(adapters.map((a) => a.ask<{ writes: number }>({ type: 'count' }, 'count')));
    if (counts.reduce((s, c) => s + c.writes, 0) >= total) return true;
    await sleep(100);
  }
  return false;
}

async function runConfig(database: 'pglite' | 'postgres', processes: number): Promise<DrainRow> {
  const label = `${database}, ${processes} process${processes > 1 ? 'es' : ''}`;
  const server = await startSandboxProcess();
  onAbort(() => server.stop());
  const schema = benchSchema('drain');
  const adapters: Adapter[] = [];
  try {
    const warm = casesFor(WARMUP, `dw${processes}${database}x`);
    const bareCases = casesFor(PATIENTS, `db${processes}${database}x`);
    const queued = casesFor(PATIENTS, `dq${processes}${database}x`);
    const env: Record<string, string> = {
      FHIR_BASE_URL: server.baseUrl,
      WEBHOOK_SECRET,
      SUBSCRIBE: 'false',
      // Subscriptions mode with the safety net at start-up only: without it the adapter would pick `_lastUpdated`
      // polling (every 60 s), whose first run catches up a week and queues every patient loaded beside the drain.
      CHANGE_DETECTION: 'subscriptions',
      POLL_INTERVAL_SECONDS: '0',
      QUEUE_CONCURRENCY: String(CONCURRENCY),
      // Held at the bare lanes' concurrency, so the two figures compare like with like (BENCH_DRAIN_ENV may free it).
      QUEUE_CONCURRENCY_MIN: String(CONCURRENCY),
      QUEUE_CONCURRENCY_MAX: String(CONCURRENCY),
      BENCH_DRAIN_SCHEMA: schema,
      ...(database === 'postgres' ? { DATABASE_URL: POSTGRES_URL } : {}),
      ...EXTRA_ENV,
    };
    // Started before the patients are loaded: a second process's start-up catch-up (change detection from the
    // checkpoint the first stored, a week back) then finds nothing, where it would queue every loaded patient.
    say(`${label}: starting the adapter`);
    for (let i = 0; i < processes; i++) adapters.push(await startAdapter(env));
    onAbort(() => {
      for (const a of adapters) a.child.kill();
    });
    say(`${label}: loading ${WARMUP + 2 * PATIENTS} patients into the sandbox`);
    await inLanes([...warm, ...bareCases, ...queued], 4, (c) => post(server.baseUrl, c.body));

    say(`${label}: bare round trips, ${CONCURRENCY * processes} lanes`);
    const bare = await bareRate(
      server.baseUrl,
      bareCases.map((c) => c.patientId),
      CONCURRENCY * processes,
      server.cpuMs,
    );
    const bareThroughput = bare.rate;

    const first = adapters[0] as Adapter;
    await first.ask({ type: 'enqueue', patientIds: warm.map((c) => c.patientId) }, 'enqueued');
    if (!(await waitForWrites(adapters, warm.length, 120_000))) throw new Error('warm-up did not drain');
    const sandboxCpuAtEnqueue = server.cpuMs();
    const { at: enqueuedAt } = await first.ask<{ at: number }>(
      { type: 'enqueue', patientIds: queued.map((c) => c.patientId) },
      'enqueued',
    );
    say(`${label}: draining ${PATIENTS} jobs`);
    if (!(await waitForWrites(adapters, warm.length + queued.length, Math.max(120_000, PATIENTS * 500)))) {
      throw new Error('the backlog did not drain in time');
    }
    const sandboxCpuAtEnd = server.cpuMs();
    const reports = await Promise.all(adapters.map((a) => a.ask<DrainReport>({ type: 'report' }, 'report')));
    const last = Math.max(...reports.flatMap((r) => r.writes));
    const drainSeconds = (last - enqueuedAt) / 1000;
    const rate = PATIENTS / drainSeconds;
    const row: DrainRow = {
      database,
      processes,
      patients: PATIENTS,
      concurrency: CONCURRENCY,
      bareRate: bareThroughput,
      rate,
      ratePerProcess: rate / processes,
      ratio: bareThroughput / rate,
      drainSeconds,
      inFlightMean: reports.reduce((s, r) => s + r.inFlightMean, 0),
      inFlightMax: Math.max(...reports.map((r) => r.inFlightMax)),
      cpuPercentPerProcess: (reports.reduce((s, r) => s + r.cpuMs, 0) / processes / (drainSeconds * 1000)) * 100,
      throttled: reports.reduce((s, r) => s + r.throttled, 0),
      adapterCpuMsEach: reports.reduce((s, r) => s + r.cpuMs, 0) / PATIENTS,
      ...(sandboxCpuAtEnqueue !== undefined && sandboxCpuAtEnd !== undefined
        ? { sandboxCpuMsEach: (sandboxCpuAtEnd - sandboxCpuAtEnqueue) / PATIENTS }
        : {}),
      ...(bare.sandboxCpuMsEach !== undefined ? { bareSandboxCpuMsEach: bare.sandboxCpuMsEach } : {}),
      requests: reports.map((r) => r.requests),
    };
    say(
      `${label}: ${rate.toFixed(1)}/s (${row.ratePerProcess.toFixed(1)}/s per process), bare ${bareThroughput.toFixed(1)}/s, ` +
        `ratio ${row.ratio.toFixed(2)}x, in flight mean ${row.inFlightMean.toFixed(1)}, requests ${JSON.stringify(row.requests)}`,
    );
    return row;
  } finally {
    await Promise.all(
      adapters.map(async (a) => {
        a.child.send({ type: 'stop' });
        await Promise.race([new Promise((r) => a.child.once('exit', r)), sleep(20_000)]);
        a.child.kill('SIGKILL');
      }),
    );
    server.stop();
    if (database === 'postgres') await dropSchema(schema).catch(() => undefined);
  }
}

const rows: DrainRow[] = [];
for (const { database, processes } of CONFIGS) rows.push(await runConfig(database, processes));
await writeResultJson(rows);

const table = markdownTable(
  [
    'queue',
    'processes',
    'adapter: assessments/s (per process)',
    'bare round trips/s, same concurrency',
    'bare / adapter',
    'in flight (mean / max)',
    'CPU per process',
    'CPU ms per assessment: adapter / sandbox (bare: sandbox)',
    'result',
  ],
  rows.map((r) => [
    r.database === 'postgres' ? 'PostgreSQL' : 'PGlite',
    String(r.processes),
    `${r.rate.toFixed(0)} (${r.ratePerProcess.toFixed(0)})`,
    `${r.bareRate.toFixed(0)} (${r.concurrency * r.processes} lanes)`,
    `${r.ratio.toFixed(2)}x`,
    `${r.inFlightMean.toFixed(1)} / ${r.inFlightMax}`,
    `${r.cpuPercentPerProcess.toFixed(0)}%`,
    `${r.adapterCpuMsEach.toFixed(1)} / ${r.sandboxCpuMsEach?.toFixed(1) ?? '?'} (${r.bareSandboxCpuMsEach?.toFixed(1) ?? '?'})`,
    r.ratePerProcess >= DRAIN_RATE_AIM && r.ratio <= DRAIN_RATIO_AIM ? 'PASS' : 'MISS',
  ]),
);
const text = [
  '# Backlog drain',
  '',
  `${PATIENTS} patients queued at once (after ${WARMUP} to warm up), QUEUE_CONCURRENCY=${CONCURRENCY}` +
    `${Object.keys(EXTRA_ENV).length ? `, ${JSON.stringify(EXTRA_ENV)}` : ''}; aims: >= ${DRAIN_RATE_AIM} assessments/s per process and ` +
    `bare / adapter <= ${DRAIN_RATIO_AIM}x.`,
  '',
  table,
  '',
].join('\n');
console.log(text);
const dir = fileURLToPath(new URL('./results/', import.meta.url));
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, 'drain.md'), text);
process.exit(0);
