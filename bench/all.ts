/**
 * Every benchmark in one run (`npm run bench:all`; BENCH_QUICK=1 for a smoke run of a few minutes): each part runs
 * as a child process, one after the other, on PGlite and on PostgreSQL (own schemas, dropped after), and the figures
 * come together in ONE Markdown page with the aim beside each figure and PASS/MISS, printed and written to
 * bench/results/all.md (each part also leaves its own page in bench/results/).
 *
 *   1. sustained notifications per second (bench/sustained.ts)
 *   2. notification-to-Flag / the bare FHIR round trips, same run (bench/service.bench.ts)
 *   3. memory under a soak (bench/soak.ts, BENCH_SOAK_MINUTES, default 10; 1 quick)
 *   4. pipeline time per patient / JSON.parse (bench/pipeline.bench.ts)
 *   5. growth with 10x the patients and 10x the timepoints (bench/growth.ts)
 *   7. backfill --from-server of a whole sandbox, beside the bare export + writes (bench/backfill.ts)
 *   6. backlog drain, assessments/s per process beside the bare round trips (bench/drain.ts; PGlite 1 process,
 *      PostgreSQL 1 and 2 processes)
 *
 * Stops by itself: a part past its own limit is stopped (SIGTERM, then SIGKILL), and the whole run past
 * BENCH_ALL_DEADLINE_S (default: 27 min quick, 110 min + the soak's extra minutes full) writes what it has and exits 2.
 * Leftover schemas of this run are dropped at the end whatever happened.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { BackfillBenchResult } from './backfill.ts';
import type { DrainRow } from './drain.ts';
import type { GrowthCase, GrowthResult } from './growth.ts';
import type { PipelineRow } from './pipeline.bench.ts';
import { POSTGRES_URL } from './service-rig.ts';
import type { SoakResult } from './soak.ts';
import { markdownTable, ms } from './stats.ts';
import type { SustainedResult } from './sustained.ts';

const quick = process.env.BENCH_QUICK === '1' || process.argv.includes('--quick');
const SOAK_MINUTES = Number(process.env.BENCH_SOAK_MINUTES ?? (quick ? 1 : 10));
const DEADLINE_S = Number(
  process.env.BENCH_ALL_DEADLINE_S ?? (quick ? 27 * 60 : 110 * 60 + 2 * 60 * Math.max(0, SOAK_MINUTES - 10)),
);
const DATABASES = (process.env.BENCH_DATABASES ?? 'pglite,postgres').split(',') as ('pglite' | 'postgres')[];
const SCHEMA_PREFIX = `benchall_${process.pid}`;
const RATE_AIM = 200;
const ACK_P99_AIM_MS = 50;
const RATIO_AIM = 1.5;
const FLAT_MB_PER_MIN = 1;
const PIPELINE_AIM = 3;
const GROWTH_PATIENTS_AIM = 1.5;
const GROWTH_TIMEPOINTS_AIM = 10;
// As bench/backfill.ts (a value import would run that script).
const RSS_GROWTH_AIM = 1.5;
// As bench/drain.ts (a value import would run that script).
const DRAIN_RATE_AIM = 100;
const DRAIN_RATIO_AIM = 1.5;

const startedAt = new Date();
const t0 = performance.now();
const loadAtStart = loadavg().map((l) => l.toFixed(2));
const elapsedS = (): number => (performance.now() - t0) / 1000;
const say = (text: string): void => void process.stderr.write(`[all ${elapsedS().toFixed(0)}s] ${text}\n`);
const here = (file: string): string => fileURLToPath(new URL(file, import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'irecist-bench-all-'));

interface Part {
  /** What the table's "command" column shows. */
  command: string;
  ok: boolean;
  note?: string;
  seconds: number;
  result?: unknown;
}

let current: ChildProcess | undefined;
let stopping = false;

/** Runs one benchmark script as a child; its stderr (progress) is passed through, its stdout kept quiet. */
async function runPart(
  script: string,
  env: Record<string, string>,
  limitS: number,
  options: { nodeArgs?: string[]; args?: string[]; command: string },
): Promise<Part> {
  const remaining = DEADLINE_S - elapsedS() - 30;
  if (stopping || remaining < 20)
    return { command: options.command, ok: false, note: 'not run: out of time', seconds: 0 };
  const budget = Math.max(20, Math.min(limitS, remaining));
  const resultFile = join(work, `${script.replace(/\W+/g, '-')}-${Date.now()}.json`);
  const started = performance.now();
  say(`${options.command} (limit ${budget.toFixed(0)} s)`);
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), here(script), ...(options.args ?? [])], {
    env: {
      ...process.env,
      ...env,
      ...(quick ? { BENCH_QUICK: '1' } : {}),
      BENCH_RESULT_JSON: resultFile,
      BENCH_SCHEMA_PREFIX: SCHEMA_PREFIX,
      BENCH_DEADLINE_S: String(Math.round(budget)),
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  current = child;
  // The child stops itself at BENCH_DEADLINE_S; this is the backstop.
  const kill = setTimeout(() => child.kill('SIGTERM'), (budget + 20) * 1000);
  const hardKill = setTimeout(() => child.kill('SIGKILL'), (budget + 40) * 1000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearTimeout(kill);
  clearTimeout(hardKill);
  current = undefined;
  const seconds = (performance.now() - started) / 1000;
  if (code === 0 && existsSync(resultFile)) {
    return { command: options.command, ok: true, seconds, result: JSON.parse(readFileSync(resultFile, 'utf8')) };
  }
  const why = code === 2 ? 'stopped at its time limit' : `exited with ${code ?? 'a signal'}`;
  say(`${options.command}: ${why}`);
  return { command: options.command, ok: false, note: why, seconds };
}

function abortAll(why: string): void {
  if (stopping) return;
  stopping = true;
  say(`${why}: stopping the current part and writing what there is`);
  current?.kill('SIGTERM');
  setTimeout(() => current?.kill('SIGKILL'), 15_000).unref();
}
setTimeout(() => abortAll(`deadline of ${DEADLINE_S} s reached`), DEADLINE_S * 1000).unref();
process.once('SIGINT', () => abortAll('interrupted'));
process.once('SIGTERM', () => abortAll('terminated'));

async function dropLeftoverSchemas(): Promise<number> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    const { rows } = await client.query<{ name: string }>(
      `SELECT nspname AS name FROM pg_namespace WHERE nspname LIKE $1`,
      [`${SCHEMA_PREFIX}\\_%`],
    );
    for (const { name } of rows) await client.query(`DROP SCHEMA IF EXISTS ${name} CASCADE`);
    return rows.length;
  } finally {
    await client.end();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The runs

const q = quick ? 'BENCH_QUICK=1 ' : '';
const dbEnv = (db: string): string => (db === 'postgres' ? 'BENCH_DATABASE=postgres ' : '');
say(`${quick ? 'quick' : 'full'} run on ${DATABASES.join(' and ')}, deadline ${DEADLINE_S} s`);

const pipelinePart = await runPart('./pipeline.bench.ts', {}, quick ? 120 : 600, {
  args: quick ? ['--quick'] : [],
  command: `${q}npm run bench`,
});

interface DbParts {
  service: Part;
  sustained: Part;
  growth: Part;
  soak: Part;
}
const parts = new Map<string, DbParts>();
for (const db of DATABASES) {
  const env = { BENCH_DATABASE: db };
  const service = await runPart(
    './service.bench.ts',
    { ...env, ...(quick ? { BENCH_PATIENTS: '10', BENCH_INTAKE_COUNT: '500' } : {}) },
    quick ? 150 : 400,
    { command: `${dbEnv(db)}${quick ? 'BENCH_PATIENTS=10 BENCH_INTAKE_COUNT=500 ' : ''}npm run bench:service` },
  );
  const sustained = await runPart('./sustained.ts', env, quick ? 300 : 1500, {
    command: `${q}${dbEnv(db)}npm run bench:sustained`,
  });
  const growth = await runPart('./growth.ts', env, quick ? 420 : 1500, {
    command: `${q}${dbEnv(db)}npm run bench:growth`,
  });
  // The soak's steady load: half the best sustained rate (a load the adapter keeps up with), unless set.
  const best = (sustained.result as SustainedResult | undefined)?.best?.rate;
  const soakRate = process.env.BENCH_SOAK_RATE ?? String(best ? Math.max(10, Math.floor(best / 2)) : 25);
  const soak = await runPart(
    './soak.ts',
    { ...env, BENCH_SOAK_RATE: soakRate, BENCH_SOAK_MINUTES: String(SOAK_MINUTES) },
    SOAK_MINUTES * 60 + 240,
    {
      nodeArgs: ['--expose-gc'],
      command: `${q}${dbEnv(db)}BENCH_SOAK_RATE=${soakRate} BENCH_SOAK_MINUTES=${SOAK_MINUTES} npm run bench:soak`,
    },
  );
  parts.set(db, { service, sustained, growth, soak });
}

// The drain's configurations: PGlite with one process (its directory belongs to one), PostgreSQL with 1 and 2.
const drainConfigs = DATABASES.flatMap((db) => (db === 'postgres' ? ['postgres:1', 'postgres:2'] : ['pglite:1']));
const drainPart = await runPart('./drain.ts', { BENCH_DRAIN_CONFIGS: drainConfigs.join(',') }, quick ? 400 : 1800, {
  command: `${q}BENCH_DRAIN_CONFIGS=${drainConfigs.join(',')} npm run bench:drain`,
});

// Backfill from the server's Bulk Data export (PGlite; its own sandbox): the sizes from BENCH_BACKFILL_* if set.
const backfillSizes = quick ? ['--patients', '300', '--small', '100'] : [];
const backfillPart = await runPart('./backfill.ts', {}, quick ? 900 : 3600, {
  args: backfillSizes,
  command: `${q}npm run bench:backfill${backfillSizes.length ? ` -- ${backfillSizes.join(' ')}` : ''}`,
});

let dropped = 0;
try {
  dropped = await dropLeftoverSchemas();
} catch (err) {
  say(`could not check for leftover schemas: ${String(err)}`);
}
rmSync(work, { recursive: true, force: true });

// ---------------------------------------------------------------------------------------------------------------
// The page

type Row = [figure: string, value: string, aim: string, verdict: string, command: string];
const rows: Row[] = [];
const DB_NAME = { pglite: 'PGlite', postgres: 'PostgreSQL' } as const;
const verdict = (ok: boolean): string => (ok ? 'PASS' : '**MISS**');
const notMeasured = (figure: string, aim: string, part: Part): Row => [
  figure,
  `not measured (${part.note ?? 'no result'})`,
  aim,
  '**MISS**',
  `\`${part.command}\``,
];
const cmd = (part: Part): string => `\`${part.command}\``;
const x = (v: number): string => (Number.isFinite(v) ? `${v.toFixed(2)}x` : 'n/a');

for (const [db, p] of parts) {
  const name = DB_NAME[db as keyof typeof DB_NAME];
  // 1. Sustained rate
  const sustainedAim = `>= ${RATE_AIM}/s with ack p99 < ${ACK_P99_AIM_MS} ms, backlog not growing`;
  const s = p.sustained.result as SustainedResult | undefined;
  if (!p.sustained.ok || !s)
    rows.push(notMeasured(`1. Sustained notifications/s (${name})`, sustainedAim, p.sustained));
  else {
    const best = s.best;
    const miss = s.steps.find((step) => !step.pass && step.attempt === 2) ?? s.steps.find((step) => !step.pass);
    const tried = s.steps.map((step) => step.rate).at(-1);
    rows.push([
      `1. Sustained notifications/s (${name}; open loop, ${s.stepSeconds} s per step, ${s.perPatient} per patient)`,
      best
        ? `**${best.rate}/s**${miss ? ` (${miss.rate}/s missed: ${miss.why})` : ` (highest step tried: ${tried}/s)`}`
        : `**none** (lowest step ${miss?.rate}/s missed: ${miss?.why})`,
      sustainedAim,
      verdict((best?.rate ?? 0) >= RATE_AIM),
      cmd(p.sustained),
    ]);
    if (best) {
      rows.push([
        `1. Ack latency p50 / p99 at ${best.rate}/s (${name})`,
        `${ms(best.load.p50Ms)} / ${ms(best.load.p99Ms)} ms`,
        `p99 < ${ACK_P99_AIM_MS} ms`,
        verdict(best.load.p99Ms < ACK_P99_AIM_MS),
        cmd(p.sustained),
      ]);
      rows.push([
        `1. Notification -> Flag written p50 / p99 at ${best.rate}/s, ${best.patients} patients (${name}; to the server's answer to the adapter's transaction)`,
        `${ms(best.toFlagP50Ms)} / ${ms(best.toFlagP99Ms)} ms${best.flagsMissing ? ` (${best.flagsMissing} Flags missing)` : ''}`,
        '(reported)',
        best.flagsMissing ? '**MISS**' : '—',
        cmd(p.sustained),
      ]);
    }
  }
  // 2. Ratio to the bare round trips
  const svc = p.service.result as
    | {
        bare: { total: [number, number] };
        singleToFlag: [number, number];
        sandboxToFlag: [number, number];
        singleToCommit: [number, number];
        sandboxToCommit: [number, number];
        singleCommitRatioP50: number;
        sandboxCommitRatioP50: number;
        singleRatioP50: number;
        sandboxRatioP50: number;
      }
    | undefined;
  const ratioAim = `<= ${RATIO_AIM}x (p50)`;
  if (!p.service.ok || !svc) {
    rows.push(notMeasured(`2. Notification -> Flag / bare round trips (${name})`, ratioAim, p.service));
  } else {
    const bareText = `bare ${ms(svc.bare.total[0])} ms`;
    rows.push([
      `2. Notification -> Flag / bare round trips, one notification (${name})`,
      `**${x(svc.singleCommitRatioP50)}** (to the Flag's commit p50 ${ms(svc.singleToCommit[0])} ms vs ${bareText}; ` +
        `to a subscriber's receipt of the Flag ${x(svc.singleRatioP50)}, ${ms(svc.singleToFlag[0])} ms)`,
      ratioAim,
      verdict(svc.singleCommitRatioP50 <= RATIO_AIM),
      cmd(p.service),
    ]);
    rows.push([
      `2. Notification -> Flag / bare round trips, a transaction notified resource by resource (${name})`,
      `**${x(svc.sandboxCommitRatioP50)}** (to the Flag's commit p50 ${ms(svc.sandboxToCommit[0])} ms vs ${bareText}; ` +
        `to a subscriber's receipt ${x(svc.sandboxRatioP50)}, ${ms(svc.sandboxToFlag[0])} ms)`,
      ratioAim,
      verdict(svc.sandboxCommitRatioP50 <= RATIO_AIM),
      cmd(p.service),
    ]);
  }
  // 3. Soak
  const soakAim = `flat: slope < ${FLAT_MB_PER_MIN} MB/min over the 2nd half`;
  const soak = p.soak.result as SoakResult | undefined;
  if (!p.soak.ok || !soak)
    rows.push(notMeasured(`3. Memory under a ${SOAK_MINUTES} min soak (${name})`, soakAim, p.soak));
  else {
    for (const [label, f] of [
      ['RSS', soak.rss],
      [`heap used${soak.forcedGc ? ' after GC' : ''}`, soak.heapUsed],
    ] as const) {
      rows.push([
        `3. ${label} under a ${soak.minutes} min soak at ${soak.rate}/s (${name})`,
        `start ${f.startMb.toFixed(0)}, end ${f.endMb.toFixed(0)}, max ${f.maxMb.toFixed(0)} MB; **slope ${f.slopeMbPerMin.toFixed(2)} MB/min**`,
        soakAim,
        verdict(f.slopeMbPerMin < FLAT_MB_PER_MIN),
        cmd(p.soak),
      ]);
    }
    rows.push([
      `3. Soak side figures (${name})`,
      `ack p50 / p99 ${ms(soak.ackP50Ms)} / ${ms(soak.ackP99Ms)} ms, ${soak.errors} refused, ${soak.assessments} assessments, pg-boss job rows ${soak.jobRows.start} -> ${soak.jobRows.end}`,
      '(reported)',
      soak.errors ? '**MISS**' : '—',
      cmd(p.soak),
    ]);
  }
  // 5. Growth
  const g = p.growth.result as GrowthResult | undefined;
  const growthAim = `10x patients <= ${GROWTH_PATIENTS_AIM}x; 10x timepoints <= ${GROWTH_TIMEPOINTS_AIM}x`;
  if (!p.growth.ok || !g) rows.push(notMeasured(`5. Growth (${name})`, growthAim, p.growth));
  else {
    const [base, patients, timepoints] = g.cases as [GrowthCase, GrowthCase, GrowthCase];
    const figures: [string, (c: GrowthCase) => number][] = [
      [`ack p99 under ${g.rate}/s`, (c) => c.loadAckP99Ms],
      ['ack p50, one notification', (c) => c.ackP50Ms],
      ['notification -> results written p50', (c) => c.toResultP50Ms],
      ['assessment in the worker p50', (c) => c.assessP50Ms],
      ['pipeline time per patient', (c) => c.pipelineMsPerPatient],
    ];
    for (const [label, pick] of figures) {
      const rp = pick(patients) / pick(base);
      const rt = pick(timepoints) / pick(base);
      rows.push([
        `5. Growth: ${label} (${name}; base ${base.patients} patients x ${base.timepoints} timepoints = ${ms(pick(base))} ms)`,
        `10x patients **${x(rp)}**; 10x timepoints **${x(rt)}**`,
        growthAim,
        `${verdict(rp <= GROWTH_PATIENTS_AIM)}; ${verdict(rt <= GROWTH_TIMEPOINTS_AIM)}`,
        cmd(p.growth),
      ]);
    }
  }
}

// 4. Pipeline
const pipelineRows = pipelinePart.result as PipelineRow[] | undefined;
const pipelineAim = `<= ${PIPELINE_AIM}x the floor (JSON.parse + JSON.stringify of the same sizes)`;
if (!pipelinePart.ok || !pipelineRows) rows.push(notMeasured('4. Pipeline / JSON floor', pipelineAim, pipelinePart));
else {
  for (const r of pipelineRows.filter((row) => row.ctdna)) {
    rows.push([
      `4. Pipeline per patient, ${r.timepoints} timepoints (${(r.inputBytes / 1024).toFixed(0)} KB)`,
      `chart drawn ${ms(r.drawnMs)} ms = **${x(r.drawnMs / r.floorMs)}** the floor (chart memoised ${ms(r.pipelineMs)} ms = ${x(r.pipelineMs / r.floorMs)}); ${x(r.drawnMs / r.parseMs)} JSON.parse alone`,
      pipelineAim,
      verdict(r.drawnMs / r.floorMs <= PIPELINE_AIM),
      cmd(pipelinePart),
    ]);
  }
}
// 6. Backlog drain
const drainRows = drainPart.result as DrainRow[] | undefined;
const drainAim = `>= ${DRAIN_RATE_AIM}/s per process and bare / adapter <= ${DRAIN_RATIO_AIM}x`;
if (!drainPart.ok || !drainRows) rows.push(notMeasured('6. Backlog drain', drainAim, drainPart));
else {
  for (const r of drainRows) {
    rows.push([
      `6. Backlog drain, ${r.patients} patients queued at once (${DB_NAME[r.database]}, ${r.processes} process${r.processes > 1 ? 'es' : ''}, QUEUE_CONCURRENCY=${r.concurrency})`,
      `**${r.ratePerProcess.toFixed(0)}/s per process** (${r.rate.toFixed(0)}/s in all); bare round trips ${r.bareRate.toFixed(0)}/s at ${r.concurrency * r.processes} lanes = **${x(r.ratio)}**`,
      drainAim,
      `${verdict(r.ratePerProcess >= DRAIN_RATE_AIM)}; ${verdict(r.ratio <= DRAIN_RATIO_AIM)}`,
      cmd(drainPart),
    ]);
  }
}
// 7. Backfill --from-server
const backfill = backfillPart.result as BackfillBenchResult | undefined;
const backfillAim = `peak RSS with more patients <= ${RSS_GROWTH_AIM}x; beside the bare export + writes`;
if (!backfillPart.ok || !backfill) rows.push(notMeasured('7. backfill --from-server', backfillAim, backfillPart));
else {
  for (const r of backfill.rows) {
    rows.push([
      `7. backfill --from-server, ${r.patients} patients x ${backfill.timepoints} timepoints (PGlite, concurrency ${backfill.concurrency})`,
      `**${r.backfillSeconds.toFixed(0)} s, ${r.patientsPerSecond.toFixed(1)} patients/s, peak RSS ${r.peakRssMb.toFixed(0)} MB**; bare export ${r.bareExportSeconds.toFixed(0)} s + writes at ${r.bareWritesPerSecond.toFixed(1)}/s = ${r.floorSeconds.toFixed(0)} s (${x(r.ratio)})`,
      '(reported)',
      r.failed ? '**MISS**' : '—',
      cmd(backfillPart),
    ]);
  }
  rows.push([
    '7. backfill peak RSS, larger / smaller run',
    `**${x(backfill.rssGrowth)}**`,
    backfillAim,
    verdict(backfill.rssGrowth <= RSS_GROWTH_AIM),
    cmd(backfillPart),
  ]);
}
// Grouped by figure number (stable: the order within a figure stays as built).
rows.sort((a, b) => Number.parseInt(a[0], 10) - Number.parseInt(b[0], 10));

// Where notification-to-Flag goes, from the service benchmark's stage timestamps.
const stageRows: string[][] = [];
const stageDbs = [...parts].filter(([, p]) => p.service.ok);
type Stages = { label: string; sandbox: [number, number]; single?: [number, number] }[];
const firstStages = (stageDbs[0]?.[1].service.result as { stages?: Stages } | undefined)?.stages ?? [];
for (const [i, stage] of firstStages.entries()) {
  stageRows.push([
    stage.label,
    ...stageDbs.flatMap(([, p]) => {
      const st = (p.service.result as { stages: Stages }).stages[i];
      return [st?.single ? ms(st.single[0]) : '', st ? ms(st.sandbox[0]) : ''];
    }),
  ]);
}
const bareRow = [
  'bare minimum (batch read + transaction write, directly)',
  ...stageDbs.flatMap(([, p]) => {
    const r = p.service.result as { bare: { total: [number, number] } };
    return [ms(r.bare.total[0]), ''];
  }),
];

const passed = rows.filter((r) => !r[3].includes('MISS') && r[3] !== '—').length;
const missed = rows.filter((r) => r[3].includes('MISS')).length;
const cpuModel = cpus()[0]?.model ?? 'unknown CPU';
const text = [
  '# irecist-adapter: all benchmarks',
  '',
  `\`${quick ? 'BENCH_QUICK=1 ' : ''}npm run bench:all\` on ${startedAt.toISOString().replace('T', ' ').slice(0, 16)} UTC: ` +
    `${cpus().length} CPUs (${cpuModel}), Node ${process.version}, load average at start ${loadAtStart.join(' ')}, ` +
    `at the end ${loadavg()
      .map((l) => l.toFixed(2))
      .join(
        ' ',
      )}; ${quick ? '**quick mode (seconds instead of minutes: a smoke run, not figures to quote)**' : 'full run'}; ` +
    `${(elapsedS() / 60).toFixed(1)} min in all${stopping ? ', **stopped early**' : ''}. Everything on 127.0.0.1, the load ` +
    'from a child process; figures 1, 3, 5 and 6 run the adapter against the sandbox FHIR server in a process of its own, ' +
    'figure 2 (bench:service) the service with its embedded sandbox in one process (sandbox mode); queue on PGlite ' +
    '(in-process) and ' +
    `on PostgreSQL 127.0.0.1:5432 (own schema, dropped after${dropped ? `; ${dropped} leftover schemas dropped` : ''}).`,
  '',
  `${passed} PASS, ${missed} MISS.`,
  '',
  markdownTable(['Figure', 'Value', 'Aim', 'PASS/MISS', 'Command'], rows),
  '',
  ...(stageRows.length
    ? [
        `Where notification-to-Flag goes, p50 ms per stage (\`npm run bench:service\`; single notification / transaction notified resource by resource):`,
        '',
        markdownTable(
          ['Stage', ...stageDbs.flatMap(([db]) => [`${DB_NAME[db as keyof typeof DB_NAME]} single`, 'transaction'])],
          [...stageRows, bareRow],
        ),
        '',
      ]
    : []),
  "Figure 2 ends at the Flag's commit in the sandbox, as the bare minimum ends at the response to its write; the " +
    "delivery of the Flag to a subscriber (the sandbox's work, not the adapter's) is shown beside it. " +
    'Aims: 1, 2 and 4 as set for the project; 3: "flat" = both RSS and heap-used slopes under 1 MB/min over the second ' +
    'half of the soak; 5: what this run proposes, the cost of a notification should not depend on how many patients ' +
    "the server holds (10x patients <= 1.5x) and grow at most linearly with a patient's history (10x timepoints <= 10x). " +
    "Each part's own page (bench/results/*.md) has the detail.",
  '',
].join('\n');

console.log(text);
const dir = here('./results/');
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, 'all.md'), text);
say(`written to bench/results/all.md`);
process.exit(stopping ? 2 : 0);
