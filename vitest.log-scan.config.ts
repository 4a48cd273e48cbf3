import { defineConfig } from 'vitest/config';

/** Run after the suite (`npm test`): reads what the last suite run logged and fails on patient data or secrets. */
export default defineConfig({
  test: {
    include: ['test/log-scan/**/*.test.ts'],
    pool: 'forks',
  },
});
