/**
 * Growth (`npm run bench:growth`; BENCH_DATABASE=postgres for PostgreSQL): the key figures for a base case and with
 * 10x the patients and 10x the timepoints per patient, each case in a fresh service (its own server and queue), as
 * the ratio to the base case. The adapter runs in this process against the sandbox FHIR server in its own
 * (bench/service-rig.ts); patients are synthetic (bench/synthetic.ts).
 *
 *   base            BENCH_GROWTH_PATIENTS (50; 20 quick) patients x BENCH_GROWTH_TIMEPOINTS (10) timepoints
 *   10x patients    10 times the patients, same timepoints
 *   10x timepoints  the same patients, 10 times the timepoints
 *
 * Per case:
 *   - for SAMPLE (20; 5 quick) patients, one at a time, one signed notification on a quiet service: its
 *     acknowledgement, notification -> results written (the adapter got the response to its transaction; a
 *     synthetic patient does not always get a Flag), and the assessment time in the worker (batch read response ->
 *     transaction sent: read the body, map, assess, render);
 *   - acknowledgement p50 / p99 under an open-loop load of BENCH_GROWTH_RATE (50) notifications/s for
 *     BENCH_GROWTH_SECONDS (20; 5 quick), cycling over as many patients as the base case has beyond the sample,
 *     spread over the whole population (the same work in every case but 10x timepoints: what grows with 10x
 *     patients is the data the server and the queue hold);
 *   - the pure pipeline time per patient (bench/pipeline-measure.ts) over all of the case's patients, each with its
 *     latest report's chart drawn (what a new scan costs): the chart memo is emptied before each call, as its 8 MB
 *     hold about 160 charts, so a case of 200 patients would otherwise weigh drawings against a case of 20 whose
 *     charts all stay memoised.
 *
 * BENCH_QUICK=1, BENCH_DEADLINE_S, BENCH_RESULT_JSON (machine-readable result for bench/all.ts).
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { clearReportCharts } from '../src/mapping/report-chart.ts';
import { openLoopLoad } from './load-child.ts';
import { pipeline } from './pipeline-measure.ts';
import { envInt, installDeadline, onAbort, quickMode, say, writeResultJson } from './run-control.ts';
import { type DatabaseKind, loadPatients, startRig } from './service-rig.ts';
import { epochNow, markdownTable, median, ms, percentile } from './stats.ts';
import { syntheticBundle, syntheticTransaction } from './synthetic.ts';

const quick = quickMode();
const DATABASE: DatabaseKind = process.env.BENCH_DATABASE === 'postgres' ? 'postgres' : 'pglite';
const PATIENTS = envInt('BENCH_GROWTH_PATIENTS', quick ? 20 : 50, 2, 1000);
const TIMEPOINTS = envInt('BENCH_GROWTH_TIMEPOINTS', 10, 1, 100);
const SAMPLE = Math.min(PATIENTS - 1, quick ? 5 : 20);
/** Patients the open-loop load notifies, the same number in every case. */
const ACTIVE = PATIENTS - SAMPLE;
const RATE = envInt('BENCH_GROWTH_RATE', 50, 1, 5000);
const LOAD_S = envInt('BENCH_GROWTH_SECONDS', quick ? 5 : 20, 1, 600);
installDeadline(envInt('BENCH_DEADLINE_S', quick ? 400 : 1500, 30, 36_000));

export interface GrowthCase {
  name: 'base' | '10x patients' | '10x timepoints';
  patients: number;
  timepoints: number;
  loadSeconds: number;
  /** Single notifications on a quiet service (SAMPLE patients). */
  ackP50Ms: number;
  toResultP50Ms: number;
  toResultP99Ms: number;
  assessP50Ms: number;
  /** Open-loop load. */
  loadAckP50Ms: number;
  loadAckP99Ms: number;
  loadErrors: number;
  backlogAfterLoad: number;
  /** Pure pipeline, ms per patient. */
  pipelineMsPerPatient: number;
}

export interface GrowthResult {
  database: DatabaseKind;
  rate: number;
  loadSeconds: number;
  cases: GrowthCase[];
}

const scratch = join(tmpdir(), `irecist-bench-growth-${process.pid}.json`);
onAbort(() => rmSync(scratch, { force: true }));

async function runCase(
  name: GrowthCase['name'] | 'warm-up',
  patients: number,
  timepoints: number,
  options: { sample?: number; loadSeconds?: number } = {},
): Promise<GrowthCase> {
  const sample = options.sample ?? SAMPLE;
  const loadS = options.loadSeconds ?? LOAD_S;
  const tag = name.replace(/\W+/g, '');
  const ids = Array.from({ length: patients }, (_, i) => `g-${tag}-${i}`);
  say(`${name}: ${patients} patients x ${timepoints} timepoints on ${DATABASE}`);
  const rig = await startRig({ database: DATABASE });
  onAbort(() => rig.close());
  try {
    const t0 = performance.now();
    const bodies = ids.map((patientId, i) =>
      JSON.stringify(syntheticTransaction(timepoints, { patientId, seed: 1000 + i })),
    );
    await loadPatients(rig, bodies);
    const loadSeconds = (performance.now() - t0) / 1000;
    await rig.waitForQuiet(30_000);

    // One notification at a time on a quiet service (the first SAMPLE patients, never assessed before).
    const acks: number[] = [];
    const toResult: number[] = [];
    const assess: number[] = [];
    for (const patientId of ids.slice(0, sample)) {
      const sent = epochNow();
      const status = await rig.notify(patientId, 1);
      acks.push(epochNow() - sent);
      if (status !== 200) throw new Error(`notification refused: ${status}`);
      const written = await rig.reached(patientId, 'writeEnd', 30_000);
      toResult.push(written - sent);
      const t = rig.times.get(patientId);
      if (t?.readEnd !== undefined && t.writeStart !== undefined) assess.push(t.writeStart - t.readEnd);
      await rig.waitForQuiet(10_000);
    }

    // Open-loop load over the same number of patients in every case, spread over the whole population.
    const rest = ids.slice(sample);
    const step = rest.length / ACTIVE;
    writeFileSync(scratch, JSON.stringify(Array.from({ length: ACTIVE }, (_, i) => rest[Math.floor(i * step)])));
    const load = await openLoopLoad({
      url: rig.service.url,
      secret: rig.secret,
      subscriptionId: 'benchmark',
      rate: RATE,
      durationMs: loadS * 1000,
      perPatient: 1,
      patientsFile: scratch,
      warmupMs: Math.min(2000, (loadS * 1000) / 5),
    });
    const backlogAfterLoad = await rig.backlog();
    await rig.close();

    // The pure pipeline over every patient of the case, in this process with the service gone.
    const texts = ids.map((patientId, i) => JSON.stringify(syntheticBundle(timepoints, { patientId, seed: 1000 + i })));
    // Warm up (JIT) on as many calls whatever the case's size, then rounds over all patients for at least 2 s.
    const drawn = (text: string): string => {
      clearReportCharts();
      return pipeline(text);
    };
    for (let i = 0; i < 50; i++) drawn(texts[i % texts.length] as string);
    const rounds: number[] = [];
    const until = performance.now() + 2000;
    while (rounds.length < 5 || performance.now() < until) {
      const p0 = performance.now();
      for (const text of texts) drawn(text);
      rounds.push((performance.now() - p0) / texts.length);
    }
    return {
      name: name as GrowthCase['name'],
      patients,
      timepoints,
      loadSeconds,
      ackP50Ms: percentile(acks, 50),
      toResultP50Ms: percentile(toResult, 50),
      toResultP99Ms: percentile(toResult, 99),
      assessP50Ms: percentile(assess, 50),
      loadAckP50Ms: load.p50Ms,
      loadAckP99Ms: load.p99Ms,
      loadErrors: load.errors + (load.sent - load.answered),
      backlogAfterLoad,
      pipelineMsPerPatient: median(rounds),
    };
  } finally {
    await rig.close();
  }
}

// A warm-up case first, not reported: the base case would otherwise pay for the JIT and the first connections
// alone and look slower than the bigger cases after it.
say('warm-up case (not reported)');
await runCase('warm-up', Math.max(SAMPLE + 2, 10), TIMEPOINTS, { sample: 3, loadSeconds: 3 });
const cases: GrowthCase[] = [];
cases.push(await runCase('base', PATIENTS, TIMEPOINTS));
cases.push(await runCase('10x patients', PATIENTS * 10, TIMEPOINTS));
cases.push(await runCase('10x timepoints', PATIENTS, TIMEPOINTS * 10));
rmSync(scratch, { force: true });
const result: GrowthResult = { database: DATABASE, rate: RATE, loadSeconds: LOAD_S, cases };
await writeResultJson(result);

const base = cases[0] as GrowthCase;
const ratio = (v: number, b: number): string => (Number.isFinite(v / b) ? `${(v / b).toFixed(2)}x` : 'n/a');
const FIGURES: [string, (c: GrowthCase) => number][] = [
  ['ack, single notification p50 ms', (c) => c.ackP50Ms],
  [`ack under ${RATE}/s p50 ms`, (c) => c.loadAckP50Ms],
  [`ack under ${RATE}/s p99 ms`, (c) => c.loadAckP99Ms],
  ['notification -> results written p50 ms', (c) => c.toResultP50Ms],
  ['notification -> results written p99 ms', (c) => c.toResultP99Ms],
  ['assessment in the worker p50 ms', (c) => c.assessP50Ms],
  ['pipeline ms per patient', (c) => c.pipelineMsPerPatient],
];
const rows = FIGURES.map(([label, pick]) => [
  label,
  ...cases.map((c) => (c === base ? ms(pick(c)) : `${ms(pick(c))} (${ratio(pick(c), pick(base))})`)),
]);
const text = [
  `# Growth (${DATABASE})`,
  '',
  `Base ${base.patients} patients x ${base.timepoints} timepoints; ${SAMPLE} single notifications per case; load ${RATE}/s for ${LOAD_S} s over ${ACTIVE} patients.`,
  '',
  markdownTable(
    ['figure', ...cases.map((c) => `${c.name} (${c.patients} x ${c.timepoints})`)],
    [
      ...rows,
      ['load: refused / backlog after', ...cases.map((c) => `${c.loadErrors} / ${c.backlogAfterLoad}`)],
      ['loading the patients, s', ...cases.map((c) => c.loadSeconds.toFixed(1))],
    ],
  ),
  '',
].join('\n');
console.log(text);
const dir = fileURLToPath(new URL('./results/', import.meta.url));
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, `growth-${DATABASE}.md`), text);
process.exit(0);
