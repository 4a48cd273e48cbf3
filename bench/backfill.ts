/**
 * `backfill --from-server` (`npm run bench:backfill`): a whole hospital assessed from a Bulk Data export, against the
 * sandbox FHIR server in a process of its own, beside the bare export download + writes measured in the same run.
 *
 * The sandbox is loaded with SMALL + PATIENTS synthetic patients (bench/synthetic.ts, TIMEPOINTS follow-up scans
 * each), in two Groups (`bf-small`, `bf-large`). For each Group, smaller first:
 *   - backfill: the real command line (`node bin/irecist-adapter.mjs backfill --from-server --group G`) as a child
 *     process on a fresh PGlite directory: wall time, patients/s, and its peak RSS (VmHWM of /proc/PID/status, read
 *     every 200 ms until it exits);
 *   - bare export: the same Group `$export` kicked off, polled and every file streamed (lines counted, nothing kept)
 *     by the adapter's own Bulk Data client: seconds;
 *   - bare writes: the results of BARE_SAMPLE other synthetic patients, computed before the clock starts, written as
 *     plain transactions (writeResults) with the same concurrency: patients/s;
 *   - the floor for the Group = bare export seconds + patients / bare write rate; ratio = backfill / floor.
 * Peak RSS must not grow with the patients (the export is staged in the database, never held in memory): the page
 * shows both sizes and their ratio.
 *
 * Knobs (environment, or the flags `--patients N --small N`): BENCH_BACKFILL_PATIENTS (10,000; 500 quick),
 * BENCH_BACKFILL_SMALL (1,000; 100 quick), BENCH_BACKFILL_TIMEPOINTS (10), BENCH_BACKFILL_CONCURRENCY (4),
 * BENCH_BACKFILL_BARE_SAMPLE (500), BENCH_QUICK=1, BENCH_DEADLINE_S, BENCH_RESULT_JSON (for bench/all.ts).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Bundle } from '@medplum/fhirtypes';
import { contextResourceTypes } from '../src/backfill/context-types.ts';
import { createBulkClient } from '../src/bulk/bulk-client.ts';
import { readCapabilities } from '../src/fhir/capabilities.ts';
import { createFhirClient } from '../src/fhir/client-factory.ts';
import { isRetryable, writeResults } from '../src/fhir/write-results.ts';
import { logger } from '../src/logging.ts';
import { assessResources } from '../src/pipeline/assess-resources.ts';
import { envInt, installDeadline, onAbort, quickMode, say, writeResultJson } from './run-control.ts';
import { startSandboxProcess } from './service-rig.ts';
import { markdownTable } from './stats.ts';
import { syntheticBundle, syntheticTransaction } from './synthetic.ts';

const quick = quickMode();
const flag = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
if (flag('patients')) process.env.BENCH_BACKFILL_PATIENTS = flag('patients');
if (flag('small')) process.env.BENCH_BACKFILL_SMALL = flag('small');
const PATIENTS = envInt('BENCH_BACKFILL_PATIENTS', quick ? 500 : 10_000, 10, 1_000_000);
const SMALL = envInt('BENCH_BACKFILL_SMALL', quick ? 100 : 1_000, 10, 1_000_000);
const TIMEPOINTS = envInt('BENCH_BACKFILL_TIMEPOINTS', 10, 1, 100);
const CONCURRENCY = envInt('BENCH_BACKFILL_CONCURRENCY', 4, 1, 64);
const BARE_SAMPLE = envInt('BENCH_BACKFILL_BARE_SAMPLE', 500, 10, 100_000);
export const RSS_GROWTH_AIM = 1.5;
logger.level = 'silent';
installDeadline(envInt('BENCH_DEADLINE_S', quick ? 900 : 7_200, 30, 86_400));

const BIN = fileURLToPath(new URL('../bin/irecist-adapter.mjs', import.meta.url));
const RESULTS = fileURLToPath(new URL('./results/', import.meta.url));

export interface BackfillRow {
  group: string;
  patients: number;
  resources: number;
  backfillSeconds: number;
  patientsPerSecond: number;
  peakRssMb: number;
  bareExportSeconds: number;
  bareWritesPerSecond: number;
  floorSeconds: number;
  ratio: number;
  failed: number;
}

export interface BackfillBenchResult {
  timepoints: number;
  concurrency: number;
  rows: BackfillRow[];
  /** Peak RSS of the larger run / of the smaller. */
  rssGrowth: number;
  rssGrowthAim: number;
}

const server = await startSandboxProcess();
onAbort(() => server.stop());
const base = server.baseUrl;
const work = mkdtempSync(join(tmpdir(), 'irecist-bench-backfill-'));
onAbort(() => rmSync(work, { recursive: true, force: true }));

async function post(body: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const res = await fetch(base, { method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body });
    await res.arrayBuffer();
    if (res.ok) return;
    if (attempt >= 5) throw new Error(`load failed: HTTP ${res.status}`);
    await new Promise((r) => setTimeout(r, 200 * attempt));
  }
}

/** Loads `count` synthetic patients `prefix-i` and the Group of them. */
async function loadGroup(group: string, prefix: string, count: number): Promise<void> {
  let next = 0;
  const started = performance.now();
  const lane = async (): Promise<void> => {
    for (let i = next++; i < count; i = next++) {
      const tx = syntheticTransaction(TIMEPOINTS, { seed: 1000 + i, patientId: `${prefix}-${i}` });
      await post(JSON.stringify(tx));
      if (i > 0 && i % 1000 === 0) say(`loaded ${i} of ${count} (${group})`);
    }
  };
  await Promise.all(Array.from({ length: 4 }, lane));
  const members = Array.from({ length: count }, (_, i) => ({ entity: { reference: `Patient/${prefix}-${i}` } }));
  const res = await fetch(`${base}/Group/${group}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/fhir+json' },
    body: JSON.stringify({ resourceType: 'Group', id: group, type: 'person', actual: true, member: members }),
  });
  if (!res.ok) throw new Error(`Group ${group}: HTTP ${res.status}`);
  say(`loaded ${count} patients in ${((performance.now() - started) / 1000).toFixed(0)} s (${group})`);
}

/** The real command line; its wall time, peak RSS and JSON summary. */
async function runBackfill(
  group: string,
): Promise<{ seconds: number; peakRssMb: number; summary: { counts?: { failed?: number } } }> {
  const dataDir = mkdtempSync(join(work, 'data-'));
  const { DATABASE_URL: _unused, LOG_LEVEL: _level, ...env } = process.env;
  const started = performance.now();
  const child = spawn(
    process.execPath,
    [BIN, 'backfill', '--from-server', '--group', group, '--concurrency', String(CONCURRENCY)],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...env, FHIR_BASE_URL: base, DATA_DIR: dataDir } },
  );
  let peakKb = 0;
  const readPeak = (): void => {
    try {
      const match = /VmHWM:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      peakKb = Math.max(peakKb, Number(match?.[1] ?? 0));
    } catch {
      // gone already: the last reading stands (VmHWM only grows)
    }
  };
  const timer = setInterval(readPeak, 200);
  let stdout = '';
  let stderrTail = '';
  child.stdout?.on('data', (b: Buffer) => {
    stdout += b.toString('utf8');
  });
  child.stderr?.on('data', (b: Buffer) => {
    const text = b.toString('utf8');
    stderrTail = (stderrTail + text).slice(-4000);
    for (const line of text.split('\n')) if (line.startsWith('backfill:')) say(line);
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearInterval(timer);
  const seconds = (performance.now() - started) / 1000;
  rmSync(dataDir, { recursive: true, force: true });
  if (code !== 0) throw new Error(`backfill exited with ${code}: ${stderrTail}`);
  return { seconds, peakRssMb: peakKb / 1024, summary: JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') };
}

/** The Group's export kicked off, polled and streamed with nothing kept: seconds and lines. */
async function bareExport(group: string): Promise<{ seconds: number; lines: number }> {
  const config = { port: 0, fhir: { baseUrl: base, timeoutMs: 60_000, auth: { mode: 'none' as const } } };
  const bulk = createBulkClient(config);
  const started = performance.now();
  const statusUrl = await bulk.kickOff({ level: { kind: 'group', groupId: group }, types: contextResourceTypes() });
  const manifest = await bulk.waitForManifest(statusUrl);
  let lines = 0;
  for (const file of manifest.output) for await (const _line of bulk.fileLines(file, manifest)) lines++;
  const seconds = (performance.now() - started) / 1000;
  await bulk.release(statusUrl);
  return { seconds, lines };
}

/** One plain write; a refused connection or a 5xx under load is tried again, as the backfill's own retries do. */
async function writeWithRetries(
  client: ReturnType<typeof createFhirClient>,
  bundle: Bundle,
  caps: Awaited<ReturnType<typeof readCapabilities>>,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await writeResults(client, bundle, caps);
      return;
    } catch (err) {
      if (!isRetryable(err) || attempt >= 5) throw err;
      await new Promise((r) => setTimeout(r, 200 * attempt));
    }
  }
}

/** Plain transaction writes of precomputed results, CONCURRENCY lanes: patients per second. */
async function bareWrites(label: string): Promise<number> {
  const client = createFhirClient({ port: 0, fhir: { baseUrl: base, timeoutMs: 60_000, auth: { mode: 'none' } } });
  const caps = await readCapabilities(client);
  const results: Bundle[] = [];
  for (let i = 0; i < BARE_SAMPLE; i++) {
    const bundle = syntheticBundle(TIMEPOINTS, {
      seed: 5000 + i,
      patientId: `bf-bare-${label}-${i}`,
    }) as unknown as Bundle;
    results.push(assessResources((bundle.entry ?? []).map((e) => e.resource as never)).transaction);
  }
  let next = 0;
  const started = performance.now();
  const lane = async (): Promise<void> => {
    for (let i = next++; i < results.length; i = next++) await writeWithRetries(client, results[i] as Bundle, caps);
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, lane));
  return results.length / ((performance.now() - started) / 1000);
}

const groups = [
  { group: 'bf-small', prefix: 'bf-s', count: SMALL },
  { group: 'bf-large', prefix: 'bf-l', count: PATIENTS },
];
for (const g of groups) await loadGroup(g.group, g.prefix, g.count);

const rows: BackfillRow[] = [];
for (const g of groups) {
  // The bare export first: after the backfill the Group's export would also hold the adapter's own outputs.
  say(`bare export of ${g.group}`);
  const exported = await bareExport(g.group);
  say(`backfill --from-server --group ${g.group} (${g.count} patients)`);
  const run = await runBackfill(g.group);
  say(`bare writes (${BARE_SAMPLE} patients)`);
  const writeRate = await bareWrites(g.group);
  const floorSeconds = exported.seconds + g.count / writeRate;
  rows.push({
    group: g.group,
    patients: g.count,
    resources: exported.lines,
    backfillSeconds: run.seconds,
    patientsPerSecond: g.count / run.seconds,
    peakRssMb: run.peakRssMb,
    bareExportSeconds: exported.seconds,
    bareWritesPerSecond: writeRate,
    floorSeconds,
    ratio: run.seconds / floorSeconds,
    failed: Number(run.summary.counts?.failed ?? 0),
  });
}
server.stop();

const [small, large] = rows as [BackfillRow, BackfillRow];
const rssGrowth = large.peakRssMb / small.peakRssMb;
const result: BackfillBenchResult = {
  timepoints: TIMEPOINTS,
  concurrency: CONCURRENCY,
  rows,
  rssGrowth,
  rssGrowthAim: RSS_GROWTH_AIM,
};
const table = markdownTable(
  [
    'patients',
    'resources',
    'backfill s',
    'patients/s',
    'peak RSS MB',
    'bare export s',
    'bare writes patients/s',
    'floor s',
    'backfill / floor',
    'failed',
  ],
  rows.map((r) => [
    String(r.patients),
    String(r.resources),
    r.backfillSeconds.toFixed(1),
    r.patientsPerSecond.toFixed(1),
    r.peakRssMb.toFixed(0),
    r.bareExportSeconds.toFixed(1),
    r.bareWritesPerSecond.toFixed(1),
    r.floorSeconds.toFixed(1),
    r.ratio.toFixed(2),
    String(r.failed),
  ]),
);
const page = [
  `# backfill --from-server (${TIMEPOINTS} timepoints per patient, concurrency ${CONCURRENCY}, PGlite)`,
  '',
  `\`npm run bench:backfill -- --patients ${PATIENTS} --small ${SMALL}\`, ${new Date().toISOString()}`,
  '',
  table,
  '',
  `Peak RSS with ${large.patients} patients / with ${small.patients}: ${rssGrowth.toFixed(2)} ` +
    `(aim: at most ${RSS_GROWTH_AIM}: ${rssGrowth <= RSS_GROWTH_AIM ? 'PASS' : 'MISS'})`,
  '',
].join('\n');
mkdirSync(RESULTS, { recursive: true });
writeFileSync(join(RESULTS, 'backfill.md'), page);
process.stdout.write(page);
await writeResultJson(result);
rmSync(work, { recursive: true, force: true });
process.exit(0);
