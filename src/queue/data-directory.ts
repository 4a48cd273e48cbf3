/**
 * The PGlite data directory (DATA_DIR) before the database opens: one process at a time (a lock file), and what is
 * found there told plainly, with the path, instead of "Database unavailable" or a silent fresh start:
 *
 * - DATA_DIR/irecist-adapter.json records that a queue database was made here (and when). If it is there but
 *   DATA_DIR/pglite is missing or empty, the queued jobs are gone: refuse, and say how to start afresh on purpose.
 * - DATA_DIR/pglite without PG_VERSION is damaged (PGlite would quietly make a new, empty database over it): refuse.
 * - A database PGlite cannot open is damaged: refuse, naming the folder (database.ts calls `damagedDatabase`).
 * - `mustExist` (operator commands): no data there is "nothing to read", and nothing is created.
 *
 * The lock (`pglite.lock`) holds the owner's pid, its start time and the boot id: a lock whose process is gone, is a
 * zombie, or whose pid now belongs to another process (a different start time, or another boot) is taken over; on a
 * system without /proc only the pid's liveness is checked.
 */
import { rmSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { OutcomeError, outcome } from '../fhir-model/outcomes.ts';
import { logger } from '../logging.ts';

export const MANIFEST_FILE = 'irecist-adapter.json';
export const LOCK_FILE = 'pglite.lock';
const PGLITE = 'pglite';

export interface PreparedDataDirectory {
  /** Where PGlite keeps its files (DATA_DIR/pglite). */
  pgliteDir: string;
  /** Records that a database now lives here (call once it opened). */
  recordDatabase(): Promise<void>;
  /** Removes the lock. */
  release(): Promise<void>;
}

/** What a lock file says about its owner. */
interface LockOwner {
  pid: number;
  /** Process start time in clock ticks since boot (/proc/PID/stat field 22), when known. */
  start?: string;
  boot?: string;
}

/** Data directories opened by this process, so a second open in the same process is refused too. */
const openDirectories = new Set<string>();

const exists = (path: string): Promise<boolean> =>
  stat(path).then(
    () => true,
    () => false,
  );

async function readText(path: string): Promise<string | undefined> {
  return readFile(path, 'utf8').then(
    (text) => text.trim(),
    () => undefined,
  );
}

/** State and start time of a process from /proc (undefined without /proc or without the process). */
async function procStat(pid: number): Promise<{ state: string; start: string } | undefined> {
  const text = await readText(`/proc/${pid}/stat`);
  if (!text) return undefined;
  // The command name (field 2) is in parentheses and may hold spaces: fields are counted after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  const start = fields[19];
  return state && start ? { state, start } : undefined;
}

const bootId = (): Promise<string | undefined> => readText('/proc/sys/kernel/random/boot_id');

function signalable(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** This process, as a lock file records it. */
async function me(): Promise<LockOwner> {
  const [self, boot] = await Promise.all([procStat(process.pid), bootId()]);
  return { pid: process.pid, ...(self ? { start: self.start } : {}), ...(boot ? { boot } : {}) };
}

function parseOwner(text: string | undefined): LockOwner | undefined {
  if (!text) return undefined;
  if (/^\d+$/.test(text)) return { pid: Number(text) }; // the older format: the pid alone
  try {
    const value = JSON.parse(text) as Partial<LockOwner>;
    return Number.isInteger(value.pid) ? (value as LockOwner) : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the process a lock names still holds it: alive, not a zombie, and the same process (not a reused pid). */
async function stillHeld(owner: LockOwner): Promise<boolean> {
  if (owner.pid === process.pid || owner.pid <= 0) return false;
  if (owner.boot !== undefined && owner.boot !== (await bootId())) return false;
  if (!signalable(owner.pid)) return false;
  const proc = await procStat(owner.pid);
  if (!proc) return true; // no /proc: liveness is all we know
  if (proc.state === 'Z' || proc.state === 'X') return false;
  return owner.start === undefined || owner.start === proc.start;
}

function inUse(dataDir: string, pid: number | undefined): OutcomeError {
  const who = pid === undefined ? 'another process' : `another process (pid ${pid})`;
  return new OutcomeError(outcome('conflict', `Data directory ${dataDir} is in use by ${who}`), 409);
}

/** Takes DATA_DIR/pglite.lock; a lock left by a dead process is taken over. Returns the release function. */
async function lockDirectory(dataDir: string): Promise<() => Promise<void>> {
  const lockPath = join(dataDir, LOCK_FILE);
  if (openDirectories.has(dataDir)) throw inUse(dataDir, process.pid);
  const owner = JSON.stringify(await me());
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(lockPath, 'wx');
      await handle.writeFile(owner);
      await handle.close();
      openDirectories.add(dataDir);
      // A process that exits without releasing (the shutdown deadline's process.exit) still removes its own lock:
      // nothing of it touches the directory after exit, and the next start need not prove the owner dead.
      const onExit = (): void => rmSync(lockPath, { force: true });
      process.once('exit', onExit);
      return async () => {
        process.removeListener('exit', onExit);
        openDirectories.delete(dataDir);
        await rm(lockPath, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const previous = parseOwner(await readText(lockPath));
      if (previous && (await stillHeld(previous))) throw inUse(dataDir, previous.pid);
      logger.warn({ pid: previous?.pid }, 'Data directory lock of a process that is gone taken over');
      await rm(lockPath, { force: true });
    }
  }
  throw inUse(dataDir, undefined);
}

const refuse = (text: string, status = 409): OutcomeError =>
  new OutcomeError(outcome(status === 404 ? 'not-found' : 'conflict', text), status);

/**
 * Checks DATA_DIR and takes its lock, before PGlite opens it (see the module comment).
 * @param dataDir - DATA_DIR, absolute.
 * @param mustExist - Refuse (404) when no database is there, creating nothing (operator commands).
 * @returns Where PGlite lives, how to record the database, how to release the lock.
 * @throws OutcomeError: 409 in use / missing or damaged database, 404 nothing there (mustExist).
 */
export async function prepareDataDirectory(dataDir: string, mustExist: boolean): Promise<PreparedDataDirectory> {
  const pgliteDir = join(dataDir, PGLITE);
  const manifestPath = join(dataDir, MANIFEST_FILE);
  const nothingHere = (): OutcomeError =>
    refuse(`Nothing to read: ${dataDir} holds no irecist-adapter database (DATA_DIR; no service has run with it)`, 404);
  if (!(await exists(dataDir))) {
    if (mustExist) throw nothingHere();
    await mkdir(dataDir, { recursive: true });
  }
  const release = await lockDirectory(dataDir);
  try {
    const entries = await readdir(pgliteDir).catch(() => [] as string[]);
    const manifest = await readText(manifestPath);
    if (entries.length === 0 && manifest !== undefined) {
      const since = parseOwnerDate(manifest);
      throw refuse(
        `The queue database ${pgliteDir} is missing, but ${dataDir} held one${since ? ` (made ${since})` : ''}: the jobs queued there are lost. ` +
          `Restore ${pgliteDir} from a backup, or delete ${manifestPath} to start with an empty queue.`,
      );
    }
    if (entries.length === 0 && mustExist) throw nothingHere();
    if (entries.length > 0 && !entries.includes('PG_VERSION')) {
      throw refuse(
        `The queue database in ${pgliteDir} is damaged: PG_VERSION is missing (PGlite would make an empty database over it). ` +
          `Restore it from a backup, or move it away to start with an empty queue.`,
      );
    }
  } catch (err) {
    await release();
    throw err;
  }
  return {
    pgliteDir,
    release,
    async recordDatabase() {
      if (await exists(manifestPath)) return;
      await writeFile(manifestPath, `${JSON.stringify({ database: 'pglite', made: new Date().toISOString() })}\n`);
    },
  };
}

function parseOwnerDate(manifest: string): string | undefined {
  try {
    const made = (JSON.parse(manifest) as { made?: unknown }).made;
    return typeof made === 'string' ? made : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The refusal for a database PGlite could not open.
 * @param pgliteDir - Where it is.
 * @param err - What PGlite threw (only its name is told).
 * @returns A 409 OutcomeError naming the folder and what to do, with the error as its cause.
 */
export function damagedDatabase(pgliteDir: string, err: unknown): OutcomeError {
  const name = err instanceof Error ? err.name : 'error';
  return new OutcomeError(
    outcome(
      'conflict',
      `The queue database in ${pgliteDir} could not be opened; it looks damaged (${name}). ` +
        'Restore it from a backup, or move it away to start with an empty queue.',
    ),
    409,
    { cause: err },
  );
}
