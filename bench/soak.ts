/**
 * Memory under a soak (`npm run bench:soak`; BENCH_DATABASE=postgres for PostgreSQL): the adapter in this process
 * (the sandbox FHIR server in its own, bench/service-rig.ts), a steady open-loop load from a child process
 * (bench/intake-load.ts) for BENCH_SOAK_MINUTES (10; 1 with BENCH_QUICK=1) at BENCH_SOAK_RATE notifications per second (100), 16 per patient,
 * cycling over a fixed pool of BENCH_SOAK_PATIENTS patients (200) loaded at the start, so the server's data does
 * not grow and every patient is assessed again and again (the first time writes its results, later ones find them
 * unchanged).
 *
 * RSS and heap used are sampled every 5 s (2 s quick), after a forced GC when run with --expose-gc (the npm script
 * does). Reported: at the start of the load, at the end, the maximum, and the least-squares slope over the second
 * half in MB per minute. Flat = both slopes under 1 MB/min. On PGlite the process holds the database too (WASM
 * memory that PGlite does not give back, and pg-boss's job table, which keeps completed jobs until their retention
 * ends: its row count is reported beside the memory).
 *
 * Knobs: BENCH_SOAK_MINUTES, BENCH_SOAK_RATE, BENCH_SOAK_PATIENTS, BENCH_QUICK=1, BENCH_DEADLINE_S, BENCH_RESULT_JSON.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openLoopLoad } from './load-child.ts';
import { envInt, installDeadline, onAbort, quickMode, say, writeResultJson } from './run-control.ts';
import { casesFor } from './sample-cases.ts';
import { type DatabaseKind, loadPatients, startRig } from './service-rig.ts';
import { markdownTable, ms, slope } from './stats.ts';

const quick = quickMode();
const DATABASE: DatabaseKind = process.env.BENCH_DATABASE === 'postgres' ? 'postgres' : 'pglite';
const MINUTES = Number(process.env.BENCH_SOAK_MINUTES ?? (quick ? 1 : 10));
const RATE = envInt('BENCH_SOAK_RATE', 100, 1, 5000);
const POOL = envInt('BENCH_SOAK_PATIENTS', 200, 1, 100_000);
const PER_PATIENT = 16;
const SAMPLE_S = quick ? 2 : 5;
export const FLAT_MB_PER_MIN = 1;
const durationMs = Math.max(10_000, Math.round(MINUTES * 60_000));
installDeadline(envInt('BENCH_DEADLINE_S', Math.round(durationMs / 1000) + 180, 30, 36_000));

const gc = (globalThis as { gc?: () => void }).gc;
const MB = 1024 * 1024;

export interface MemorySample {
  atS: number;
  rssMb: number;
  heapUsedMb: number;
  jobRows: number;
  backlog: number;
}

export interface MemoryFigure {
  startMb: number;
  endMb: number;
  maxMb: number;
  /** MB per minute over the second half. */
  slopeMbPerMin: number;
}

export interface SoakResult {
  database: DatabaseKind;
  minutes: number;
  rate: number;
  patients: number;
  forcedGc: boolean;
  rss: MemoryFigure;
  heapUsed: MemoryFigure;
  jobRows: { start: number; end: number };
  ackP50Ms: number;
  ackP99Ms: number;
  /** Acknowledgement p99 per 10 s window: does it drift? */
  ackWindowsP99Ms: number[];
  errors: number;
  assessments: number;
  flat: boolean;
  samples: MemorySample[];
}

say(`soak on ${DATABASE}: ${MINUTES} min at ${RATE}/s over ${POOL} patients${gc ? ', forced GC' : ''}`);
const rig = await startRig({ database: DATABASE });
onAbort(() => rig.close());
const scratch = join(tmpdir(), `irecist-bench-soak-${process.pid}.json`);
onAbort(() => rmSync(scratch, { force: true }));
const cases = casesFor(POOL, 'soak');
await loadPatients(
  rig,
  cases.map((c) => c.body),
);
await rig.waitForQuiet(30_000);
writeFileSync(scratch, JSON.stringify(cases.map((c) => c.patientId)));

const jobTable = `${rig.service.db.schema}.job`;
const samples: MemorySample[] = [];
let sampling = true;
const t0 = performance.now();
const sampler = (async () => {
  while (sampling) {
    gc?.();
    const m = process.memoryUsage();
    const { rows } = await rig.service.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${jobTable}`);
    samples.push({
      atS: Math.round((performance.now() - t0) / 100) / 10,
      rssMb: m.rss / MB,
      heapUsedMb: m.heapUsed / MB,
      jobRows: rows[0]?.n ?? 0,
      backlog: await rig.backlog(),
    });
    await new Promise((r) => setTimeout(r, SAMPLE_S * 1000));
  }
})();
const assessedBefore = await rig.assessmentsDone();
const load = await openLoopLoad({
  url: rig.service.url,
  secret: rig.secret,
  subscriptionId: 'benchmark',
  rate: RATE,
  durationMs,
  perPatient: PER_PATIENT,
  patientsFile: scratch,
  warmupMs: 0,
  windowMs: 10_000,
});
sampling = false;
await sampler;
const assessments = (await rig.assessmentsDone()) - assessedBefore;
await rig.close();
rmSync(scratch, { force: true });

function figure(pick: (s: MemorySample) => number): MemoryFigure {
  const half = samples.filter((s) => s.atS >= durationMs / 2000);
  return {
    startMb: pick(samples[0] as MemorySample),
    endMb: pick(samples.at(-1) as MemorySample),
    maxMb: Math.max(...samples.map(pick)),
    slopeMbPerMin: slope(half.map((s) => ({ x: s.atS / 60, y: pick(s) }))),
  };
}
const rss = figure((s) => s.rssMb);
const heapUsed = figure((s) => s.heapUsedMb);
const result: SoakResult = {
  database: DATABASE,
  minutes: MINUTES,
  rate: RATE,
  patients: POOL,
  forcedGc: Boolean(gc),
  rss,
  heapUsed,
  jobRows: { start: samples[0]?.jobRows ?? 0, end: samples.at(-1)?.jobRows ?? 0 },
  ackP50Ms: load.p50Ms,
  ackP99Ms: load.p99Ms,
  ackWindowsP99Ms: load.windows.map((w) => Math.round(w.p99Ms * 10) / 10),
  errors: load.errors + (load.sent - load.answered),
  assessments,
  flat: rss.slopeMbPerMin < FLAT_MB_PER_MIN && heapUsed.slopeMbPerMin < FLAT_MB_PER_MIN,
  samples,
};
await writeResultJson(result);

const row = (name: string, f: MemoryFigure): string[] => [
  name,
  f.startMb.toFixed(1),
  f.endMb.toFixed(1),
  f.maxMb.toFixed(1),
  f.slopeMbPerMin.toFixed(2),
];
const text = [
  `# Soak (${DATABASE})`,
  '',
  `${MINUTES} min at ${RATE} notifications/s (${PER_PATIENT} per patient over ${POOL} patients), ${assessments} assessments, ` +
    `${result.errors} refused; ack p50 / p99 ${ms(load.p50Ms)} / ${ms(load.p99Ms)} ms; samples every ${SAMPLE_S} s${gc ? ' after a forced GC' : ' (no forced GC: run with --expose-gc)'}.`,
  '',
  markdownTable(
    ['MB', 'start', 'end', 'max', 'slope over 2nd half, MB/min'],
    [row('RSS', rss), row('heap used', heapUsed)],
  ),
  '',
  `Flat (both slopes < ${FLAT_MB_PER_MIN} MB/min): ${result.flat ? 'yes' : 'no'}. pg-boss job rows ${result.jobRows.start} -> ${result.jobRows.end}. ` +
    `Ack p99 per 10 s: ${result.ackWindowsP99Ms.join(', ')} ms.`,
  '',
].join('\n');
console.log(text);
const dir = fileURLToPath(new URL('./results/', import.meta.url));
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, `soak-${DATABASE}.md`), text);
process.exit(0);
