/**
 * Where the test suite's log lines are collected: a directory per `vitest` run (several runs may share a checkout),
 * one file per test process in it, for test/log-scan. The run's global setup names it in the environment, which
 * every test process and the processes they start inherit.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const TEST_LOGS_ROOT = fileURLToPath(new URL('../../.test-logs/', import.meta.url));
export const LOG_DIR_VARIABLE = 'IRECIST_TEST_LOG_DIR';

/** Names the directory of the newest suite run, for the scan that runs after it (a separate vitest run). */
export const LATEST_RUN_FILE = join(TEST_LOGS_ROOT, 'latest-run');

export function runLogDir(runPid: number): string {
  return join(TEST_LOGS_ROOT, `run-${runPid}`);
}
