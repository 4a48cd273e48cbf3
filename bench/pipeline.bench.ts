/**
 * Pipeline benchmark (`npm run bench`): synthetic patients with 10, 100 and 1,000 timepoints, each serialised
 * as a Bundle JSON string, then, in the same run,
 *   (a) the full pipeline: JSON.parse -> map -> assess -> render -> JSON.stringify of the transaction;
 *   (b) the floor: JSON.parse of the same bytes + JSON.stringify of an output of the same size.
 * The same patients are run again without ctDNA results, which isolates the cost of the ctDNA evidence text.
 * Median of many iterations after a warm-up (process.hrtime.bigint). Prints a Markdown table and writes it to
 * bench/results/pipeline.md.
 *
 *   node bench/pipeline.bench.ts [--quick]      (add --cpu-prof to find a hot spot)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { assessBundle } from '../src/pipeline/assess-resources.ts';
import { syntheticBundle } from './synthetic.ts';

const NOW = '2026-01-01T00:00:00.000Z';
const quick = process.argv.includes('--quick');
const SIZES = [10, 100, 1000];

function pipeline(text: string): string {
  return JSON.stringify(assessBundle(JSON.parse(text), { now: NOW }).transaction);
}

/** A value that serialises to about `bytes` characters, shaped like a Bundle (many small objects). */
function outputShaped(bytes: number): unknown {
  const entry = {
    fullUrl: 'urn:uuid:00000000-0000-5000-8000-000000000000',
    resource: { resourceType: 'Basic', id: 'x' },
  };
  const n = Math.max(1, Math.round(bytes / JSON.stringify(entry).length));
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: Array.from({ length: n }, (_, i) => ({ ...entry, resource: { ...entry.resource, id: `x${i}` } })),
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Median milliseconds of `fn` over `iterations` runs after `warmup` runs; `sink` keeps results alive. */
function measure(fn: () => unknown, warmup: number, iterations: number): number {
  let sink = 0;
  for (let i = 0; i < warmup; i++) sink += String(fn()).length & 1;
  const times: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t0 = process.hrtime.bigint();
    sink += String(fn()).length & 1;
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  if (sink < 0) console.log(sink);
  return median(times);
}

const rows: string[][] = [];
const RUNS = [
  ...SIZES.map((timepoints) => ({ timepoints, ctdna: true })),
  ...SIZES.map((timepoints) => ({ timepoints, ctdna: false })),
];
for (const { timepoints, ctdna } of RUNS) {
  const input = JSON.stringify(syntheticBundle(timepoints, { ctdna }));
  const output = pipeline(input);
  const shaped = outputShaped(output.length);
  const iterations = quick ? 5 : Math.max(10, Math.round(2000 / timepoints));
  const warmup = Math.max(3, Math.round(iterations / 5));
  const pipelineMs = measure(() => pipeline(input), warmup, iterations);
  const floorMs = measure(
    () => {
      JSON.parse(input);
      return JSON.stringify(shaped);
    },
    warmup,
    iterations,
  );
  rows.push([
    ctdna ? String(timepoints) : `${timepoints} (no ctDNA)`,
    input.length.toLocaleString('en-US'),
    output.length.toLocaleString('en-US'),
    pipelineMs.toFixed(2),
    floorMs.toFixed(2),
    `${(pipelineMs / floorMs).toFixed(1)}x`,
    ((pipelineMs * 1000) / timepoints).toFixed(1),
  ]);
}

const header = ['timepoints', 'input bytes', 'output bytes', 'pipeline ms', 'floor ms', 'ratio', 'µs per timepoint'];
const table = [
  `| ${header.join(' | ')} |`,
  `|${header.map((_h, i) => (i === 0 ? '---' : '---:')).join('|')}|`,
  ...rows.map((r) => `| ${r.join(' | ')} |`),
].join('\n');
const text = `# Pipeline benchmark\n\nNode ${process.version}, ${new Date().toISOString().slice(0, 10)}; median of many runs after warm-up.\nPipeline = JSON.parse -> map -> assess -> render -> JSON.stringify; floor = JSON.parse of the same input + JSON.stringify of an output of the same size.\n\n${table}\n`;
console.log(table);
const dir = fileURLToPath(new URL('./results/', import.meta.url));
mkdirSync(dir, { recursive: true });
writeFileSync(`${dir}pipeline.md`, text);
console.log(`\nwritten to bench/results/pipeline.md`);
