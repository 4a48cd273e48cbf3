/** The service benchmark's knobs (see bench/service.bench.ts) and its progress line on stderr. */
import { loadavg } from 'node:os';
import type { JobQueueOptions } from '../../src/queue/job-queue.ts';
import { envInt } from '../run-control.ts';

const env = process.env;

export const DATABASE: 'postgres' | 'pglite' = env.BENCH_DATABASE === 'postgres' ? 'postgres' : 'pglite';
export const POSTGRES_URL = env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const PATIENTS = envInt('BENCH_PATIENTS', 50, 4, 500);
export const INTAKE_COUNT = envInt('BENCH_INTAKE_COUNT', 5000, 100, 50_000);
export const INTAKE_WARMUP = Math.min(500, Math.round(INTAKE_COUNT / 10));
export const INTAKE_CONCURRENCY = envInt('BENCH_INTAKE_CONCURRENCY', 32, 1, 256);
export const DEADLINE_S = envInt('BENCH_DEADLINE_S', 170, 30, 600);
const POLL_SECONDS = env.BENCH_POLL_SECONDS ? Number(env.BENCH_POLL_SECONDS) : undefined;
/** More pg-boss queue options for experiments, e.g. BENCH_QUEUE_OPTIONS='{"poolSize":20}'. */
export const QUEUE_OPTIONS: JobQueueOptions = {
  ...(JSON.parse(env.BENCH_QUEUE_OPTIONS ?? '{}') as JobQueueOptions),
  ...(POLL_SECONDS !== undefined ? { pollingIntervalSeconds: POLL_SECONDS } : {}),
};
/** Added before every FHIR request of the adapter and of the bare minimum alike. */
export const FHIR_DELAY_MS = Number(env.BENCH_FHIR_DELAY_MS ?? 0);
export const DEBUG = Boolean(env.BENCH_DEBUG);
export const WARMUP_PATIENTS = 4;
export const FLAG_TIMEOUT_MS = 15_000;
export const COALESCE_COUNT = 100;
export const DRAIN_MS = 10_000;
export const LOOP_RESOLUTION_MS = 5;

const started = Date.now();
export const LOAD_AT_START = loadavg()
  .map((l) => l.toFixed(1))
  .join(' ');

/** One progress line on stderr, with the seconds since the start. */
export const say = (text: string): void =>
  void process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(1)}s] ${text}\n`);

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The promise, or an error naming `what` after `timeoutMs`. */
export async function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
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
