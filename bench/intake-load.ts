/**
 * Load generator for the intake benchmarks, run as a child process (bench/service.bench.ts, bench/sustained.ts,
 * bench/soak.ts, bench/growth.ts) so that building, signing and timing the requests does not share the service's
 * event loop. Loopback only; prints one JSON line and stops after the last response or `deadlineMs`.
 *
 * Each request is a Medplum-style rest-hook POST to `${url}/notifications`: an Observation of one patient, signed
 * with X-Signature like Medplum's subscription worker, over keep-alive connections.
 *
 * Closed loop (service.bench.ts): `warmup + count` notifications for patients `${patientPrefix}0..`, at most
 * `concurrency` in flight; reports the acknowledgement latencies and the rate reached.
 *
 * Open loop (`rate` set): notification i is due at start + i / rate, whatever the responses do (no coordinated
 * omission: a latency is counted from the moment the request was due), for `durationMs`; `perPatient` consecutive
 * notifications go to one patient (a transaction notified resource by resource), cycling over `patients`.
 * Reports the latencies after `warmupMs`, per `windowMs` window too, and when each patient's first notification
 * went out (wall-clock ms) so the parent can time notification-to-Flag.
 *
 *   BENCH_INTAKE='{"url":"http://127.0.0.1:PORT","secret":"...","subscriptionId":"...","count":5000,...}' \
 *     node bench/intake-load.ts
 */
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { medplumSignature } from '../src/sandbox/medplum-signature.ts';
import { percentile } from './stats.ts';

interface LoadOptions {
  url: string;
  secret: string;
  subscriptionId: string;
  deadlineMs: number;
  // Closed loop
  count: number;
  warmup: number;
  concurrency: number;
  patientPrefix: string;
}

export interface OpenLoopOptions {
  url: string;
  secret: string;
  subscriptionId: string;
  deadlineMs: number;
  /** Notifications per second offered. */
  rate: number;
  durationMs: number;
  /** Consecutive notifications per patient (default 1). */
  perPatient?: number;
  /** Patient ids, cycled over; or the path of a JSON file with them. */
  patients?: string[];
  patientsFile?: string;
  /** Not counted in the totals (still sent). Default 0. */
  warmupMs?: number;
  /** Width of the reported windows. Default 1000. */
  windowMs?: number;
}

export interface LoadWindow {
  /** Seconds from the start of the load. */
  atS: number;
  count: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
}

export interface OpenLoopResult {
  offered: number;
  sent: number;
  answered: number;
  /** Responses by status code (after the warm-up). */
  statuses: Record<string, number>;
  errors: number;
  /** Rate of answered notifications over the load. */
  answeredPerSecond: number;
  /** From the moment each request was due (includes any lag of this generator). */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** This generator's own lag: request start minus due time, p99. */
  startLagP99Ms: number;
  windows: LoadWindow[];
  /** Wall-clock ms of each patient's first notification sent. */
  firstSent: Record<string, number>;
  startedAt: number;
  timedOut: boolean;
}

export interface LoadResult {
  sent: number;
  measured: number;
  /** Responses by status code (measured part). */
  statuses: Record<string, number>;
  errors: number;
  wallMs: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  timedOut: boolean;
}

const options = JSON.parse(process.env.BENCH_INTAKE ?? '{}') as LoadOptions & Partial<OpenLoopOptions>;
const target = new URL('/notifications', options.url);
if (target.hostname !== '127.0.0.1') throw new Error('intake load: loopback only');

// The parent gone (its pipe closed): stop at once.
process.stdout.on('error', () => process.exit(1));

const agent = new Agent({ keepAlive: true, maxSockets: options.rate ? 512 : options.concurrency });

function observation(patientId: string, version: number): string {
  // Shaped like what Medplum posts: the resource version as compact JSON.
  return JSON.stringify({
    resourceType: 'Observation',
    id: `${patientId}-size`,
    meta: { versionId: `v${version}`, lastUpdated: new Date().toISOString() },
    status: 'final',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'imaging' }] }],
    code: { coding: [{ system: 'http://loinc.org', code: '21889-1', display: 'Size Tumor' }] },
    subject: { reference: `Patient/${patientId}` },
    effectiveDateTime: '2026-01-05T09:30:00Z',
    valueQuantity: { value: 42, unit: 'mm', system: 'http://unitsofmeasure.org', code: 'mm' },
  });
}

/** Latency is counted from `from` (default: now, the request's start). */
function post(patientId: string, version: number, from?: number): Promise<{ status: number; ms: number }> {
  const body = observation(patientId, version);
  const started = from ?? performance.now();
  return new Promise((resolve) => {
    const req = request(
      target,
      {
        method: 'POST',
        agent,
        headers: {
          'Content-Type': 'application/fhir+json',
          'Content-Length': Buffer.byteLength(body),
          'X-Medplum-Subscription': options.subscriptionId,
          'X-Medplum-Interaction': 'create',
          'X-Signature': medplumSignature(body, options.secret),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - started }));
        res.on('error', () => resolve({ status: 0, ms: performance.now() - started }));
      },
    );
    req.on('error', () => resolve({ status: 0, ms: performance.now() - started }));
    req.end(body);
  });
}

async function run(): Promise<LoadResult> {
  const total = options.warmup + options.count;
  const deadline = performance.now() + options.deadlineMs;
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let errors = 0;
  let next = 0;
  let measuredStart = 0;
  let measuredEnd = 0;
  let timedOut = false;

  const lane = async (): Promise<void> => {
    for (;;) {
      if (performance.now() > deadline) {
        timedOut = true;
        return;
      }
      const i = next++;
      if (i >= total) return;
      if (i === options.warmup) measuredStart = performance.now();
      const { status, ms } = await post(`${options.patientPrefix}${i}`, i);
      if (i < options.warmup) continue;
      latencies.push(ms);
      statuses[status] = (statuses[status] ?? 0) + 1;
      if (status < 200 || status >= 300) errors++;
      measuredEnd = performance.now();
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, lane));
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const wallMs = measuredEnd - measuredStart;
  return {
    sent: Math.min(next, total),
    measured: latencies.length,
    statuses,
    errors,
    wallMs,
    perSecond: latencies.length / (wallMs / 1000),
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    maxMs: latencies.at(-1) ?? Number.NaN,
    timedOut,
  };
}

async function runOpen(o: OpenLoopOptions): Promise<OpenLoopResult> {
  const patients = o.patients ?? (JSON.parse(readFileSync(o.patientsFile as string, 'utf8')) as string[]);
  if (patients.length === 0) throw new Error('intake load: no patients');
  const perPatient = Math.max(1, o.perPatient ?? 1);
  const warmupMs = o.warmupMs ?? 0;
  const windowMs = o.windowMs ?? 1000;
  const total = Math.max(1, Math.round((o.rate * o.durationMs) / 1000));
  const spacing = 1000 / o.rate;
  const firstSent: Record<string, number> = {};
  const latencies: number[] = [];
  const lags: number[] = [];
  const statuses: Record<string, number> = {};
  const windows: { count: number; errors: number; latencies: number[] }[] = [];
  let errors = 0;
  let answered = 0;
  let next = 0;
  const startedAt = performance.timeOrigin + performance.now();
  const start = performance.now() + 20;
  const due = (i: number): number => start + i * spacing;
  const inFlight = new Set<Promise<void>>();

  const fire = (i: number): void => {
    const patientId = patients[Math.floor(i / perPatient) % patients.length] as string;
    const dueAt = due(i);
    const now = performance.now();
    lags.push(now - dueAt);
    firstSent[patientId] ??= performance.timeOrigin + now;
    const p = post(patientId, i, dueAt).then(({ status, ms }) => {
      answered++;
      const ok = status >= 200 && status < 300;
      const w = Math.floor((dueAt - start) / windowMs);
      windows[w] ??= { count: 0, errors: 0, latencies: [] };
      const win = windows[w] as { count: number; errors: number; latencies: number[] };
      win.count++;
      win.latencies.push(ms);
      if (!ok) win.errors++;
      if (dueAt - start < warmupMs) return;
      latencies.push(ms);
      statuses[status] = (statuses[status] ?? 0) + 1;
      if (!ok) errors++;
    });
    inFlight.add(p);
    p.finally(() => inFlight.delete(p));
  };

  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = performance.now();
      while (next < total && due(next) <= now) fire(next++);
      if (next >= total) resolve();
      else setTimeout(tick, Math.max(0, due(next) - performance.now()));
    };
    setTimeout(tick, Math.max(0, start - performance.now()));
  });
  let timedOut = false;
  const deadline = new Promise<void>((resolve) =>
    setTimeout(
      () => {
        timedOut = true;
        resolve();
      },
      Math.max(1000, o.deadlineMs - o.durationMs),
    ).unref(),
  );
  await Promise.race([Promise.all([...inFlight]), deadline]);
  agent.destroy();
  const sorted = [...latencies].sort((a, b) => a - b);
  const sortedLags = lags.sort((a, b) => a - b);
  return {
    offered: total,
    sent: next,
    answered,
    statuses,
    errors,
    answeredPerSecond: answered / (o.durationMs / 1000),
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted.at(-1) ?? Number.NaN,
    startLagP99Ms: percentile(sortedLags, 99),
    windows: windows.map((w, i) => {
      const l = (w?.latencies ?? []).sort((a, b) => a - b);
      return {
        atS: (i * windowMs) / 1000,
        count: w?.count ?? 0,
        errors: w?.errors ?? 0,
        p50Ms: percentile(l, 50),
        p99Ms: percentile(l, 99),
      };
    }),
    firstSent,
    startedAt,
    timedOut,
  };
}

const result = options.rate ? await runOpen(options as OpenLoopOptions) : await run();
process.stdout.write(`${JSON.stringify(result)}\n`);
