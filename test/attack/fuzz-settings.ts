/**
 * Seed and size of the fuzz runs. FUZZ_SEED re-runs a failure (fast-check also prints the seed and the shrunk
 * counterexample's path); FUZZ_RUNS sets the runs of every property for a longer drill, e.g.
 * `FUZZ_RUNS=20000 FUZZ_SEED=42 npx vitest run test/attack`.
 */
import type { Parameters } from 'fast-check';

const seedText = process.env.FUZZ_SEED;
export const FUZZ_SEED = seedText !== undefined && seedText !== '' ? Number(seedText) : Date.now() % 2 ** 31;
if (!Number.isSafeInteger(FUZZ_SEED)) throw new Error(`FUZZ_SEED must be an integer, got ${seedText}`);

const runsText = process.env.FUZZ_RUNS;
const RUNS_OVERRIDE = runsText ? Number(runsText) : undefined;
if (RUNS_OVERRIDE !== undefined && !(Number.isSafeInteger(RUNS_OVERRIDE) && RUNS_OVERRIDE > 0))
  throw new Error(`FUZZ_RUNS must be a positive integer, got ${runsText}`);

/** True for a longer drill (FUZZ_RUNS set): tests then get a timeout to match. */
export const LONG_DRILL = RUNS_OVERRIDE !== undefined;

/** A vitest timeout for one property: its normal budget, or an hour under FUZZ_RUNS. */
export const propertyTimeout = (normalMs: number): number => (LONG_DRILL ? 3_600_000 : normalMs);

/** fast-check parameters: this run's seed, `runs` runs (or FUZZ_RUNS). */
export function fuzz<T>(runs: number): Parameters<T> {
  return { seed: FUZZ_SEED, numRuns: RUNS_OVERRIDE ?? runs, endOnFailure: false };
}

/** The line every fuzz file prints first, so a failed CI run can be repeated exactly. */
export function announceSeed(file: string): void {
  console.log(`${file}: FUZZ_SEED=${FUZZ_SEED}${LONG_DRILL ? ` FUZZ_RUNS=${RUNS_OVERRIDE}` : ''}`);
}
