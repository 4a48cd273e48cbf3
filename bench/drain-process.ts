/**
 * One adapter process of the backlog-drain benchmark (bench/drain.ts), started by it with an IPC channel: the
 * service (startService) against the sandbox FHIR server named by FHIR_BASE_URL, its queue on PGlite (DATA_DIR) or
 * PostgreSQL (DATABASE_URL, the schema in BENCH_DRAIN_SCHEMA), Subscriptions and polling off. What it records without
 * touching src/: when each transaction write came back, and how many assessments (batch read sent -> write answered)
 * were in flight, over time.
 *
 * Messages in: `{ type: 'enqueue', patientIds }` (queues one assess-patient job each, in one call),
 * `{ type: 'count' }`, `{ type: 'report' }`, `{ type: 'stop' }`. Out: `{ type: 'ready' }`, `{ type: 'enqueued', at }`,
 * `{ type: 'count', writes }`, `{ type: 'report', ... }` (DrainReport; in-flight figures since the last enqueue).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config.ts';
import { startService } from '../src/service/start-service.ts';
import { epochNow } from './stats.ts';

export interface DrainReport {
  type: 'report';
  /** Epoch ms of every transaction write's response. */
  writes: number[];
  /** Assessments in flight: the most at once, and the time-weighted mean while any was. */
  inFlightMax: number;
  inFlightMean: number;
  /** CPU time of this process since the enqueue, ms. */
  cpuMs: number;
  /** FHIR answers 429 / 503 seen. */
  throttled: number;
  /** FHIR requests by kind (batch, transaction, other method): count and mean ms, since the enqueue. */
  requests: Record<string, { count: number; meanMs: number }>;
}

type Message = { type: 'enqueue'; patientIds: string[] } | { type: 'count' } | { type: 'report' } | { type: 'stop' };

const send = (message: object): void => void process.send?.(message);
const dataDir = mkdtempSync(join(tmpdir(), 'irecist-drain-'));
const config = loadConfig({ ...process.env, LOG_LEVEL: 'silent', DATA_DIR: dataDir });
config.port = 0;

const writes: number[] = [];
let inFlight = 0;
let inFlightMax = 0;
let weighted = 0;
let busyMs = 0;
let changedAt = performance.now();
let throttled = 0;
let requests = new Map<string, { count: number; totalMs: number }>();
const track = (delta: number): void => {
  const now = performance.now();
  if (inFlight > 0) {
    weighted += inFlight * (now - changedAt);
    busyMs += now - changedAt;
  }
  changedAt = now;
  inFlight += delta;
  inFlightMax = Math.max(inFlightMax, inFlight);
};

const realFetch = globalThis.fetch;
/**
 * The adapter's FHIR client: the batch read of the patient's inputs (its first entry reads the Patient; it carries
 * the write plan's searches for the adapter's earlier results too) opens an assessment, the answer to its transaction
 * closes it. A batch of the adapter's earlier results alone (the write plan's read apart, made only where the context
 * read could not give them all) is counted apart, so a drain that shows any has left the one-read path.
 */
const timingFetch = async (input: string, init: RequestInit = {}): Promise<Response> => {
  const body = (init.method ?? 'GET').toUpperCase() === 'POST' && typeof init.body === 'string' ? init.body : '';
  const type = body ? /"type":"(batch|transaction)"/.exec(body.slice(0, 400))?.[1] : undefined;
  const opens = type === 'batch' && /"url":"([^"]*)"/.exec(body.slice(0, 2000))?.[1]?.startsWith('Patient/') === true;
  if (opens) track(1);
  const kind = type === 'batch' && !opens ? 'batch (earlier results)' : (type ?? (init.method ?? 'GET').toUpperCase());
  const t0 = performance.now();
  try {
    const response = await realFetch(input, init);
    const r = requests.get(kind) ?? { count: 0, totalMs: 0 };
    requests.set(kind, { count: r.count + 1, totalMs: r.totalMs + performance.now() - t0 });
    if (response.status === 429 || response.status === 503) throttled++;
    if (type === 'transaction') writes.push(epochNow());
    return response;
  } finally {
    if (type === 'transaction') track(-1);
  }
};

const service = await startService(config, {
  host: '127.0.0.1',
  schema: process.env.BENCH_DRAIN_SCHEMA,
  fetch: timingFetch,
});
// A process that is not the first to start on this queue runs its start-up catch-up in the background; it is
// awaited here (the sandbox is still empty), or it would race the loading and queue the first patients loaded.
await service.poller.runOnce();
let cpuAtEnqueue = process.cpuUsage();

process.on('message', (message: Message) => {
  void (async () => {
    if (message.type === 'enqueue') {
      track(0);
      cpuAtEnqueue = process.cpuUsage();
      [inFlightMax, weighted, busyMs] = [inFlight, 0, 0];
      requests = new Map();
      await service.queue.enqueue(message.patientIds.map((patientId) => ({ kind: 'assess-patient', patientId })));
      send({ type: 'enqueued', at: epochNow() });
    } else if (message.type === 'count') {
      send({ type: 'count', writes: writes.length });
    } else if (message.type === 'report') {
      track(0);
      const cpu = process.cpuUsage(cpuAtEnqueue);
      const report: DrainReport = {
        type: 'report',
        writes,
        inFlightMax,
        inFlightMean: busyMs > 0 ? weighted / busyMs : 0,
        cpuMs: (cpu.user + cpu.system) / 1000,
        throttled,
        requests: Object.fromEntries(
          [...requests].map(([k, r]) => [k, { count: r.count, meanMs: Math.round((r.totalMs / r.count) * 10) / 10 }]),
        ),
      };
      send(report);
    } else if (message.type === 'stop') {
      await Promise.race([service.close(), new Promise((r) => setTimeout(r, 15_000))]);
      rmSync(dataDir, { recursive: true, force: true });
      process.exit(0);
    }
  })();
});
process.once('disconnect', () => process.exit(0));
send({ type: 'ready' });
