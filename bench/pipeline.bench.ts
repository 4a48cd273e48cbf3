/**
 * Pipeline benchmark (`npm run bench`): synthetic patients with 10, 100 and 1,000 timepoints, each serialised
 * as a Bundle JSON string, then, in the same run,
 *   (a) the full pipeline: JSON.parse -> map -> assess -> render -> JSON.stringify of the transaction;
 *   (b) the floor: JSON.parse of the same bytes + JSON.stringify of an output of the same size.
 * The pipeline is timed twice: with the report chart already memoised (a patient assessed again, the same latest
 * scan: src/mapping/report-chart.ts) and with the memo emptied first (the chart drawn: a new scan, or a patient
 * first seen); the aim is read against the second, the dearer.
 * The same patients are run again without ctDNA results, which isolates the cost of the ctDNA evidence text.
 * Median of many iterations after a warm-up (process.hrtime.bigint), the three measured in turn within each iteration
 * so that load from elsewhere falls on the pipeline and its floor alike. Prints a Markdown table and writes it to
 * bench/results/pipeline.md.
 *
 * Also reports the ratio to JSON.parse of the input alone. BENCH_RESULT_JSON: where to write the rows as JSON.
 *
 *   node bench/pipeline.bench.ts [--quick]      (add --cpu-prof to find a hot spot; BENCH_QUICK=1 = --quick)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { clearReportCharts } from '../src/mapping/report-chart.ts';
import { measureInterleaved, outputShaped, pipeline } from './pipeline-measure.ts';
import { writeResultJson } from './run-control.ts';
import { syntheticBundle } from './synthetic.ts';

const quick = process.argv.includes('--quick') || process.env.BENCH_QUICK === '1';
const SIZES = [10, 100, 1000];

export interface PipelineRow {
  timepoints: number;
  ctdna: boolean;
  inputBytes: number;
  outputBytes: number;
  /** The pipeline with the chart memoised (assessed again). */
  pipelineMs: number;
  /** The pipeline with the chart drawn (memo emptied first). */
  drawnMs: number;
  /** JSON.parse of the input + JSON.stringify of an output of the same size. */
  floorMs: number;
  /** JSON.parse of the input alone. */
  parseMs: number;
}

const rows: string[][] = [];
const results: PipelineRow[] = [];
const RUNS = [
  ...SIZES.map((timepoints) => ({ timepoints, ctdna: true })),
  ...SIZES.map((timepoints) => ({ timepoints, ctdna: false })),
];
for (const { timepoints, ctdna } of RUNS) {
  const input = JSON.stringify(syntheticBundle(timepoints, { ctdna }));
  const output = pipeline(input);
  const shaped = outputShaped(output.length);
  const iterations = quick ? 5 : Math.max(10, Math.round(2000 / timepoints));
  // Warm-up long enough for the JIT to settle (a service runs the pipeline thousands of times).
  const warmup = quick ? 3 : Math.max(5, Math.round(4000 / timepoints));
  const [pipelineMs, drawnMs, floorMs, parseMs] = measureInterleaved(
    [
      () => pipeline(input),
      () => {
        clearReportCharts();
        return pipeline(input);
      },
      () => {
        JSON.parse(input);
        return JSON.stringify(shaped);
      },
      () => JSON.parse(input),
    ],
    warmup,
    iterations,
  ) as [number, number, number, number];
  results.push({
    timepoints,
    ctdna,
    inputBytes: input.length,
    outputBytes: output.length,
    pipelineMs,
    drawnMs,
    floorMs,
    parseMs,
  });
  rows.push([
    ctdna ? String(timepoints) : `${timepoints} (no ctDNA)`,
    input.length.toLocaleString('en-US'),
    output.length.toLocaleString('en-US'),
    drawnMs.toFixed(2),
    pipelineMs.toFixed(2),
    floorMs.toFixed(2),
    `${(drawnMs / floorMs).toFixed(1)}x`,
    `${(pipelineMs / floorMs).toFixed(1)}x`,
    `${(drawnMs / parseMs).toFixed(1)}x`,
    ((drawnMs * 1000) / timepoints).toFixed(1),
  ]);
}

const header = [
  'timepoints',
  'input bytes',
  'output bytes',
  'pipeline ms, chart drawn',
  'pipeline ms, chart memoised',
  'floor ms',
  'ratio, chart drawn',
  'ratio, chart memoised',
  'ratio to JSON.parse alone (drawn)',
  'µs per timepoint',
];
const table = [
  `| ${header.join(' | ')} |`,
  `|${header.map((_h, i) => (i === 0 ? '---' : '---:')).join('|')}|`,
  ...rows.map((r) => `| ${r.join(' | ')} |`),
].join('\n');
const text = `# Pipeline benchmark\n\nNode ${process.version}, ${new Date().toISOString().slice(0, 10)}; median of many runs after warm-up.\nPipeline = JSON.parse -> map -> assess -> render -> JSON.stringify, with the latest report's chart drawn (memo emptied first) and memoised (a patient assessed again); floor = JSON.parse of the same input + JSON.stringify of an output of the same size.\n\n${table}\n`;
console.log(table);
const dir = fileURLToPath(new URL('./results/', import.meta.url));
mkdirSync(dir, { recursive: true });
writeFileSync(`${dir}pipeline.md`, text);
await writeResultJson(results);
console.log(`\nwritten to bench/results/pipeline.md`);
