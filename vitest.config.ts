import { defineConfig } from 'vitest/config';

/**
 * The suite in three tiers (vitest projects), all run by `npm test`:
 * - unit: in-process and quick (`npm run test:unit`, under 30 s): everything not listed below.
 * - integration: real parts over loopback, PostgreSQL, PGlite and child processes.
 * - drills: kills, restarts and faults of whole services (`npm run test:drills`).
 * Every log line the suite causes, at trace level, is collected under .test-logs/ (test/setup) for the log scan;
 * fast-check runs with one seed per run, printed at the start (test/setup/fast-check-seed.ts).
 */
export const DRILLS = ['test/chaos/**/*.test.ts', 'test/e2e/reliability-*.test.ts'];
export const INTEGRATION = [
  'test/attack/compressed-bodies.test.ts',
  'test/attack/fuzz-assess.test.ts',
  'test/attack/fuzz-intake.test.ts',
  'test/attack/hostile-clients.test.ts',
  'test/attack/oversized-notification.test.ts',
  'test/attack/real-server-quirks.test.ts',
  'test/attack/sandbox-exposure.test.ts',
  'test/attack/secrets.test.ts',
  'test/app/**/*.test.ts',
  'test/charts/chart-threads.test.ts',
  'test/cds-hooks/**/*.test.ts',
  'test/cli/**/*.test.ts',
  'test/e2e/service.test.ts',
  'test/e2e/change-detection.test.ts',
  'test/e2e/moved-merged.test.ts',
  'test/e2e/profiles.test.ts',
  'test/fhir/**/*.test.ts',
  'test/intake/notifications-router.test.ts',
  'test/intake/property.test.ts',
  'test/polling/**/*.test.ts',
  'test/queue/cross-process-exclusion.test.ts',
  'test/queue/database.test.ts',
  'test/queue/database-connection-lost.test.ts',
  'test/queue/job-queue.test.ts',
  'test/queue/local-wake.test.ts',
  'test/queue/state-store.test.ts',
  'test/registration/**/*.test.ts',
  'test/sandbox/!(definitions).test.ts',
  'test/bulk/bulk-client.test.ts',
  'test/worker/write-*.test.ts',
];
const ALL = ['test/**/*.test.ts'];
const NOT_IN_SUITE = ['test/log-scan/**'];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    globalSetup: ['test/setup/fresh-log-dir.ts', 'test/setup/fast-check-seed.ts'],
    setupFiles: ['test/setup/capture-logs.ts', 'test/setup/fast-check-global.ts'],
    projects: [
      {
        extends: true,
        // Pure tests share their workers' module graph (no isolation between files): the tier stays quick.
        test: { name: 'unit', include: ALL, exclude: [...NOT_IN_SUITE, ...INTEGRATION, ...DRILLS], isolate: false },
      },
      { extends: true, test: { name: 'integration', include: INTEGRATION } },
      { extends: true, test: { name: 'drills', include: DRILLS } },
    ],
  },
});
