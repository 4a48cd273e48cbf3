/**
 * Load generator for the intake benchmark, run as a child process of bench/service.bench.ts so that building,
 * signing and timing the requests does not share the service's event loop.
 *
 * Sends `warmup + count` Medplum-style rest-hook POSTs (an Observation for a different Patient each, signed with
 * X-Signature like Medplum's subscription worker) to `${url}/notifications`, at most `concurrency` in flight over
 * keep-alive connections, and prints one JSON line: acknowledgement latencies (client-measured, request start to
 * response end) and the sustained rate over the measured part. Loopback only; stops after the last response or
 * `deadlineMs`, whichever comes first.
 *
 *   BENCH_INTAKE='{"url":"http://127.0.0.1:PORT","secret":"...","subscriptionId":"...","count":5000,...}' \
 *     node bench/intake-load.ts
 */
import { Agent, request } from 'node:http';
import { medplumSignature } from '../src/sandbox/medplum-signature.ts';

interface LoadOptions {
  url: string;
  secret: string;
  subscriptionId: string;
  count: number;
  warmup: number;
  concurrency: number;
  patientPrefix: string;
  deadlineMs: number;
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

const options = JSON.parse(process.env.BENCH_INTAKE ?? '{}') as LoadOptions;
const target = new URL('/notifications', options.url);
if (target.hostname !== '127.0.0.1') throw new Error('intake load: loopback only');

// The parent gone (its pipe closed): stop at once.
process.stdout.on('error', () => process.exit(1));

const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency });

function observation(i: number): string {
  // Shaped like what Medplum posts: the resource version as compact JSON.
  return JSON.stringify({
    resourceType: 'Observation',
    id: `${options.patientPrefix}${i}-size`,
    meta: { versionId: `v${i}`, lastUpdated: new Date().toISOString() },
    status: 'final',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'imaging' }] }],
    code: { coding: [{ system: 'http://loinc.org', code: '21889-1', display: 'Size Tumor' }] },
    subject: { reference: `Patient/${options.patientPrefix}${i}` },
    effectiveDateTime: '2026-01-05T09:30:00Z',
    valueQuantity: { value: 42, unit: 'mm', system: 'http://unitsofmeasure.org', code: 'mm' },
  });
}

function post(i: number): Promise<{ status: number; ms: number }> {
  const body = observation(i);
  const started = performance.now();
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

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
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
      const { status, ms } = await post(i);
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

process.stdout.write(`${JSON.stringify(await run())}\n`);
