/**
 * Runs before each test file: the adapter logs at every level (trace) into a file of this test process in the run's
 * log directory (test/setup/log-dir.ts) instead of the terminal; child processes the tests start inherit both.
 */
import { join } from 'node:path';
import { LOG_DIR_VARIABLE } from './log-dir.ts';

const dir = process.env[LOG_DIR_VARIABLE];
if (dir) {
  process.env.LOG_LEVEL ??= 'trace';
  process.env.LOG_FILE ??= join(dir, `${process.pid}.ndjson`);
}
