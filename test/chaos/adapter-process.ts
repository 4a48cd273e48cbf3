/**
 * The real adapter as a child process (`node src/cli/main.ts serve`, non-sandbox mode: FHIR_BASE_URL, WEBHOOK_SECRET,
 * SUBSCRIBE=false, POLL_INTERVAL_SECONDS=0), so a drill can SIGKILL it and start it again on the same database.
 *
 * The CLI has no setting for the database schema (it is always `irecist`, src/queue/database.ts), so each PostgreSQL
 * drill gets a database of its own on the local server (scratchDatabase), dropped afterwards. Nor has it settings
 * for the queue's retries, heartbeat or maintenance pass: a drill runs on the production defaults
 * (src/queue/job-queue.ts: 5 attempts, 2 s backoff, heartbeat 10 s, maintenance every 10 s).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { POSTGRES_URL, WEBHOOK_SECRET } from '../e2e/harness.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = join(ROOT, 'src', 'cli', 'main.ts');
const LISTENING = /irecist-adapter listening on (http:\/\/\S+)/;
/** Lines of the child's output kept for failure messages. */
const TAIL_LINES = 60;

/** Node 24 (type stripping): this process's Node when it is 24+ (vitest under npm), else the bundled one. */
export function node24(): string {
  if (Number(process.versions.node.split('.')[0]) >= 24) return process.execPath;
  const bundled = join(ROOT, 'node_modules', 'node', 'bin', 'node');
  if (!existsSync(bundled)) throw new Error(`Node >= 24 is needed (this is ${process.version}); run npm ci`);
  return bundled;
}

/**
 * A TCP port free at the moment of asking, kept by the adapter across restarts as a real deployment's is. Taken below
 * the kernel's ephemeral range, so that while the adapter is down no outgoing connection can take it as its local port.
 */
export async function freePort(): Promise<number> {
  const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
  const ceiling = Number.isInteger(low) && (low as number) > 12_000 ? (low as number) : 32_768;
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 10_000 + Math.floor(Math.random() * (ceiling - 10_000));
    if (await canListen(port)) return port;
  }
  throw new Error('no free port below the ephemeral range');
}

async function canListen(port: number): Promise<boolean> {
  const server = createServer();
  const ok = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '0.0.0.0', () => resolve(true)); // where the adapter listens
  });
  if (ok) await new Promise<void>((resolve) => server.close(() => resolve()));
  return ok;
}

export type AdapterDatabase = { kind: 'postgres'; url: string } | { kind: 'pglite'; dataDir: string };

export interface AdapterProcessOptions {
  fhirBaseUrl: string;
  database: AdapterDatabase;
  /** Written in failure messages. */
  label?: string;
  /**
   * Extra environment (e.g. QUEUE_CONCURRENCY), or a function of the adapter's URL (PUBLIC_URL); a variable set to
   * undefined is left unset (the adapter's default).
   */
  env?: Record<string, string | undefined> | ((url: string) => Record<string, string | undefined>);
}

export interface AdapterProcess {
  readonly label: string;
  /** http://127.0.0.1:PORT, the same across restarts. */
  readonly url: string;
  /** True from `listening` until the process exits. */
  readonly running: boolean;
  readonly pid: number | undefined;
  /** How many times it was started. */
  readonly starts: number;
  /** Starts the process and resolves once it listens (its start-up line), or rejects with its output. */
  start(): Promise<void>;
  /** SIGKILL, then waits for the exit; resolves to the moment it was seen dead (performance.now()). */
  kill(): Promise<number>;
  /** SIGTERM (graceful shutdown), then waits for the exit; SIGKILL after `timeoutMs`. */
  stop(timeoutMs?: number): Promise<void>;
  /** The last lines the process (and its predecessors) wrote. */
  output(): string;
}

/** Environment variables of the adapter that must not leak from the test's own environment into the child. */
const ADAPTER_VARS =
  /^(FHIR_|ADMIN_|DATABASE_URL$|DATA_DIR$|HOST$|PORT$|PUBLIC_URL$|WEBHOOK_SECRET$|SUBSCRIBE$|POLL_INTERVAL_SECONDS$|QUEUE_CONCURRENCY(_MIN|_MAX)?$|ASSESS_THROTTLE_MS$|NOTIFICATION_MAX_PATIENTS$|SANDBOX_SUBSCRIPTION_ENDPOINTS$|SANDBOX_PROFILE$|CHANGE_DETECTION$|BULK_GROUP_ID$)/;

export async function adapterProcess(options: AdapterProcessOptions): Promise<AdapterProcess> {
  const port = await freePort();
  const label = options.label ?? `adapter:${port}`;
  const url = `http://127.0.0.1:${port}`;
  const tail: string[] = [];
  const keep = (prefix: string) => (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      tail.push(`${prefix} ${line.slice(0, 400)}`);
      if (tail.length > TAIL_LINES) tail.shift();
    }
  };
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !ADAPTER_VARS.test(k)));
  const env: Record<string, string | undefined> = {
    ...inherited,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
    FHIR_BASE_URL: options.fhirBaseUrl,
    WEBHOOK_SECRET,
    SUBSCRIBE: 'false',
    POLL_INTERVAL_SECONDS: '0',
    PORT: String(port),
    ...(options.database.kind === 'postgres'
      ? { DATABASE_URL: options.database.url }
      : { DATA_DIR: options.database.dataDir }),
    ...(typeof options.env === 'function' ? options.env(url) : options.env),
  };

  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let running = false;
  let starts = 0;

  const start = async (): Promise<void> => {
    if (child) throw new Error(`${label} is already running`);
    starts++;
    const generation = starts;
    const proc = spawn(node24(), [MAIN, 'serve'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    proc.stdout?.on('data', keep(`[${label}#${generation} out]`));
    let stderr = '';
    exited = new Promise<void>((resolve) =>
      proc.once('exit', () => {
        running = false;
        child = undefined;
        resolve();
      }),
    );
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${label} did not start in time\n${tail.join('\n')}`)), 60_000);
      proc.stderr?.on('data', (chunk: Buffer) => {
        keep(`[${label}#${generation} err]`)(chunk);
        if (running) return;
        stderr += chunk.toString('utf8');
        const seen = LISTENING.exec(stderr);
        if (!seen) return;
        clearTimeout(timer);
        // Bound to 127.0.0.1 (the default) or every interface (HOST=0.0.0.0): reachable at `url` either way.
        if (new URL(seen[1] as string).port !== String(port)) {
          reject(new Error(`${label} listens on ${seen[1]}, expected port ${port}`));
        }
        running = true;
        resolve();
      });
      proc.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`${label} exited during start-up (${signal ?? code})\n${tail.join('\n')}`));
      });
      proc.once('error', reject);
    });
  };

  return {
    label,
    url,
    get running() {
      return running;
    },
    get pid() {
      return child?.pid;
    },
    get starts() {
      return starts;
    },
    start,
    async kill() {
      if (!child) throw new Error(`${label} is not running`);
      child.kill('SIGKILL');
      await exited;
      return performance.now();
    },
    async stop(timeoutMs = 20_000) {
      if (!child) return;
      const proc = child;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
      await exited;
      clearTimeout(timer);
    },
    output: () => tail.join('\n'),
  };
}

/** A database of its own on the local PostgreSQL server (the adapter's schema is fixed), dropped by `drop()`. */
export async function scratchDatabase(label: string): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const name = `chaos_${label}_${process.pid}_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6).toString(36)}`;
  await adminQuery(`CREATE DATABASE ${name}`);
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: () => adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined),
  };
}

async function adminQuery(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** One assess-patient job of the adapter's queue (pg-boss's table in the fixed `irecist` schema). */
export interface AssessJob {
  id: string;
  /** The patient id (the job's singleton key). */
  key: string;
  state: string;
  /** Attempts before the last one: a job failed back once (e.g. a lost heartbeat) and then completed has 1. */
  retries: number;
}

/** Selects the AssessJob rows; append `AND ...` to narrow. */
export const ASSESS_JOBS_SQL = `SELECT id::text, singleton_key AS key, state::text AS state, retry_count AS retries
                                  FROM irecist.job WHERE name = 'assess-patient'`;

/** Runs `work` with a client on `url`, closed afterwards. */
export async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}
