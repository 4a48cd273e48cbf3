/**
 * Global setup of the suite: a new empty log directory for this run, named in the environment for the test
 * processes; directories of earlier runs whose process is gone are removed.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LATEST_RUN_FILE, LOG_DIR_VARIABLE, runLogDir, TEST_LOGS_ROOT } from './log-dir.ts';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export default function setup(): void {
  // Each project of the suite (unit, integration, drills) runs the global setup: one directory for the whole run.
  if (process.env[LOG_DIR_VARIABLE] === runLogDir(process.pid)) return;
  mkdirSync(TEST_LOGS_ROOT, { recursive: true });
  for (const entry of readdirSync(TEST_LOGS_ROOT)) {
    const pid = Number(/^run-(\d+)$/.exec(entry)?.[1]);
    if (!pid) continue;
    if (pid === process.pid || !isAlive(pid)) rmSync(join(TEST_LOGS_ROOT, entry), { recursive: true, force: true });
  }
  const dir = runLogDir(process.pid);
  mkdirSync(dir, { recursive: true });
  process.env[LOG_DIR_VARIABLE] = dir;
  writeFileSync(LATEST_RUN_FILE, dir);
}
