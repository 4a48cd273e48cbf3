/**
 * A PostgreSQL cluster of a test's own (initdb into a temporary directory, trust auth, 127.0.0.1 on a free port), so a
 * test can stop, kill and restart it without disturbing the machine's shared server that other tests use.
 *
 * initdb and the server refuse to run as root: as root, every PostgreSQL binary runs as the `postgres` user (the
 * temporary directory is handed to it); otherwise they run directly. The cluster is removed by `remove()`, and by an
 * exit hook if the test process ends without calling it.
 */
import { execFile, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PrivatePostgres {
  /** postgres://postgres@127.0.0.1:PORT/postgres */
  readonly url: string;
  readonly port: number;
  /**
   * Stops the server: `immediate` kills every backend at once (a crash, recovered from WAL on start), `fast` ends
   * sessions cleanly.
   */
  stop(mode: 'immediate' | 'fast'): Promise<void>;
  /** Starts the stopped server on the same port and waits until it accepts connections. */
  start(): Promise<void>;
  /** `pg_ctl restart`: down for an instant. */
  restart(mode: 'immediate' | 'fast'): Promise<void>;
  /** Stops the server (if running) and deletes the cluster. Idempotent; never throws. */
  remove(): Promise<void>;
}

const RUN_AS = 'postgres';

/** The directory holding initdb and pg_ctl (PG_BIN, else the newest /usr/lib/postgresql/N/bin, else PATH), if any. */
export function findPostgresBin(): string | undefined {
  const candidates: string[] = [];
  if (process.env.PG_BIN) candidates.push(process.env.PG_BIN);
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((v) => join(root, v, 'bin')));
  }
  candidates.push(...(process.env.PATH ?? '').split(':').filter(Boolean));
  return candidates.find((dir) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl')));
}

/** Why a private cluster cannot be made here (undefined when it can): no binaries, or root without `postgres`. */
export function privatePostgresUnavailable(): string | undefined {
  if (!findPostgresBin()) return 'initdb/pg_ctl not found (set PG_BIN, or install postgresql)';
  if (isRoot() && spawnSync('id', ['-u', RUN_AS]).status !== 0)
    return `running as root and there is no '${RUN_AS}' user`;
  return undefined;
}

const isRoot = (): boolean => process.getuid?.() === 0;

/** The command line that runs a PostgreSQL binary as a non-root user. */
function command(bin: string, tool: string, args: string[]): [string, string[]] {
  const path = join(bin, tool);
  return isRoot() ? ['runuser', ['-u', RUN_AS, '--', path, ...args]] : [path, args];
}

function run(bin: string, tool: string, args: string[], timeoutMs = 60_000): Promise<string> {
  const [file, argv] = command(bin, tool, args);
  return new Promise((resolve, reject) => {
    execFile(file, argv, { timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${tool} ${args[0] ?? ''} failed: ${err.message}\n${stdout}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/** A port free on 127.0.0.1 right now (the kernel's pick). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** initdb, then start on a free port. Throws when the cluster cannot be made (the caller checked availability). */
export async function createPrivatePostgres(label = 'chaos'): Promise<PrivatePostgres> {
  const bin = findPostgresBin();
  if (!bin) throw new Error(privatePostgresUnavailable());
  const dir = mkdtempSync(join(tmpdir(), `irecist-pg-${label}-`));
  const dataDir = join(dir, 'data');
  const logFile = join(dir, 'server.log');
  if (isRoot()) {
    const ids = (flag: string) => Number(spawnSync('id', [flag, RUN_AS], { encoding: 'utf8' }).stdout.trim());
    chownSync(dir, ids('-u'), ids('-g'));
  }

  let running = false;
  let removed = false;
  // If the process ends without remove() (a crash, a killed worker), do not leave a server running.
  const removeNow = (): void => {
    if (removed) return;
    removed = true;
    const [file, argv] = command(bin, 'pg_ctl', ['-D', dataDir, '-m', 'immediate', 'stop']);
    if (running) spawnSync(file, argv, { stdio: 'ignore', timeout: 30_000 });
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', removeNow);

  const serverLog = (): string => {
    try {
      return readFileSync(logFile, 'utf8').split('\n').slice(-20).join('\n');
    } catch {
      return '';
    }
  };

  try {
    await run(bin, 'initdb', ['-D', dataDir, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync']);
  } catch (err) {
    removeNow();
    throw err;
  }

  let port = 0;
  const options = (): string =>
    [
      `-p ${port}`,
      `-k ${dir}`,
      '-c listen_addresses=127.0.0.1',
      // The test crashes the server on purpose; a process crash keeps the OS page cache, so fsync buys nothing here.
      '-c fsync=off',
      '-c max_connections=60',
    ].join(' ');
  const start = async (): Promise<void> => {
    try {
      await run(bin, 'pg_ctl', ['-D', dataDir, '-l', logFile, '-o', options(), '-w', '-t', '60', 'start']);
    } catch (err) {
      throw new Error(`${(err as Error).message}\nserver log:\n${serverLog()}`);
    }
    running = true;
  };

  // The port is free when picked but may be taken before the server binds it: try a few.
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    try {
      await start();
      break;
    } catch (err) {
      if (attempt >= 3) {
        removeNow();
        throw err;
      }
    }
  }

  const stop = async (mode: 'immediate' | 'fast'): Promise<void> => {
    await run(bin, 'pg_ctl', ['-D', dataDir, '-m', mode, '-w', '-t', '60', 'stop']);
    running = false;
  };

  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    stop,
    start,
    async restart(mode) {
      await run(bin, 'pg_ctl', [
        '-D',
        dataDir,
        '-l',
        logFile,
        '-o',
        options(),
        '-m',
        mode,
        '-w',
        '-t',
        '60',
        'restart',
      ]);
      running = true;
    },
    async remove() {
      if (removed) return;
      if (running) await stop('immediate').catch(() => undefined);
      process.removeListener('exit', removeNow);
      removeNow();
    },
  };
}
