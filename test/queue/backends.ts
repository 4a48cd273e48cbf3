/**
 * The two databases the queue tests run over: real PostgreSQL (each test in its own schema, dropped afterwards)
 * and PGlite in a temporary DATA_DIR. PostgreSQL comes from TEST_DATABASE_URL, default the local server.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { OpenDatabaseOptions } from '../../src/queue/database.ts';

const uniqueSchema = (): string => `irecist_t_${randomBytes(6).toString('hex')}`;

export const POSTGRES_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TestTarget {
  /** Options that open (and reopen) the same database. */
  options: OpenDatabaseOptions;
  /** Drops the schema / removes the data directory. */
  dispose(): Promise<void>;
}

export interface Backend {
  name: 'postgres' | 'pglite';
  available: boolean;
  create(): Promise<TestTarget>;
}

async function postgresReachable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

const postgresAvailable = await postgresReachable();
if (!postgresAvailable) console.warn(`PostgreSQL not reachable at ${POSTGRES_URL}: its queue tests are skipped`);

export const postgres: Backend = {
  name: 'postgres',
  available: postgresAvailable,
  async create() {
    const schema = uniqueSchema();
    const dataDir = await mkdtemp(join(tmpdir(), 'irecist-queue-pg-'));
    return {
      options: { databaseUrl: POSTGRES_URL, dataDir, schema },
      async dispose() {
        const client = new pg.Client({ connectionString: POSTGRES_URL });
        await client.connect();
        try {
          await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        } finally {
          await client.end();
        }
        await rm(dataDir, { recursive: true, force: true });
      },
    };
  },
};

/** One PGlite data directory per test process (a fresh one costs an initdb); each test gets its own schema in it. */
let pgliteDir: string | undefined;
process.once('exit', () => {
  if (pgliteDir) rmSync(pgliteDir, { recursive: true, force: true });
});

export const pglite: Backend = {
  name: 'pglite',
  available: true,
  async create() {
    pgliteDir ??= await mkdtemp(join(tmpdir(), 'irecist-queue-pglite-'));
    return {
      options: { dataDir: pgliteDir, schema: uniqueSchema() },
      async dispose() {},
    };
  },
};

export const BACKENDS: Backend[] = [postgres, pglite];

export const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));

/** Polls until the predicate holds; fails with the message after the timeout. */
export async function waitFor(
  predicate: () => boolean | Promise<boolean>,
  message: string,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`Timed out: ${message}`);
    await sleep(50);
  }
}
