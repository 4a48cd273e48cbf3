/** Runs before each test file: this run's fast-check seed (fast-check-seed.ts) is the default of every property. */
import fc from 'fast-check';

const seed = Number(process.env.FUZZ_SEED);
if (Number.isSafeInteger(seed)) fc.configureGlobal({ seed });
