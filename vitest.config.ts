import { defineConfig } from 'vitest/config';

/** The suite. Every log line it causes, at trace level, is collected under .test-logs/ (test/setup) for the log scan. */
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/log-scan/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    globalSetup: ['test/setup/fresh-log-dir.ts'],
    setupFiles: ['test/setup/capture-logs.ts'],
  },
});
