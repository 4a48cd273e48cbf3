/**
 * Global setup: one fast-check seed for the whole suite run, so a failure can be replayed exactly. FUZZ_SEED when set;
 * in CI (the CI variable set, as .ci/run does) a fixed seed, so CI runs are repeatable; locally a fresh one each run,
 * so local runs keep exploring. Printed once at the start; every test process inherits it (FUZZ_SEED) and
 * fast-check-global.ts makes it fast-check's default.
 */
export const CI_SEED = 14_052_026;
const ANNOUNCED = 'IRECIST_FUZZ_SEED_ANNOUNCED';

export default function setup(): void {
  if (process.env[ANNOUNCED]) return; // each project runs the global setup; one seed for the run
  const given = process.env.FUZZ_SEED;
  const seed = given ? Number(given) : process.env.CI ? CI_SEED : Date.now() % 2 ** 31;
  if (!Number.isSafeInteger(seed)) throw new Error(`FUZZ_SEED must be an integer, got ${given}`);
  process.env.FUZZ_SEED = String(seed);
  process.env[ANNOUNCED] = '1';
  console.log(
    `fast-check seed ${seed}${given ? ' (FUZZ_SEED)' : process.env.CI ? ' (fixed in CI)' : ''}; replay with FUZZ_SEED=${seed}`,
  );
}
