/**
 * The pure pipeline and its floors, timed (bench/pipeline.bench.ts, bench/growth.ts): JSON.parse -> map -> assess ->
 * render -> JSON.stringify of one patient's Bundle, against JSON.parse of the same bytes (+ JSON.stringify of an
 * output of the same size).
 */
import { assessBundle } from '../src/pipeline/assess-resources.ts';
import { median } from './stats.ts';

const NOW = '2026-01-01T00:00:00.000Z';

/** The whole pipeline on one patient's Bundle text; returns the transaction's JSON text. */
export function pipeline(text: string): string {
  return JSON.stringify(assessBundle(JSON.parse(text), { now: NOW }).transaction);
}

/** A value that serialises to about `bytes` characters, shaped like a Bundle (many small objects). */
export function outputShaped(bytes: number): unknown {
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

/** Median milliseconds of `fn` over `iterations` runs after `warmup` runs; `sink` keeps results alive. */
export function measure(fn: () => unknown, warmup: number, iterations: number): number {
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

/**
 * Median milliseconds of each of `fns`, run in turn within every iteration: on a shared machine a burst of load then
 * falls on the pipeline and its floor alike, so their ratio holds still while the absolute figures move.
 */
export function measureInterleaved(fns: (() => unknown)[], warmup: number, iterations: number): number[] {
  let sink = 0;
  for (let i = 0; i < warmup; i++) for (const fn of fns) sink += String(fn()).length & 1;
  const times = fns.map(() => [] as number[]);
  for (let i = 0; i < iterations; i++) {
    for (const [k, fn] of fns.entries()) {
      const t0 = process.hrtime.bigint();
      sink += String(fn()).length & 1;
      times[k]!.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  }
  if (sink < 0) console.log(sink);
  return times.map(median);
}
