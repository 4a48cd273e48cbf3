/**
 * The service's own database: PostgreSQL when `DATABASE_URL` is set, otherwise embedded PGlite persisted
 * under `${DATA_DIR}/pglite` (contract section 5). One handle serves the job queue (pg-boss) and the state
 * store; everything lives in one schema (default `irecist`), so a test can isolate itself with its own schema.
 *
 * PGlite is single-connection WASM PostgreSQL. pg-boss 12 supports it natively: its `fromPglite` adapter with
 * `backend: 'pglite'` (multi-statement blocks go through `exec()` as one atomic call, an aborted transaction is
 * rolled back before the next statement, LISTEN/NOTIFY works in-process), and PGlite itself serialises every
 * query and transaction behind one mutex. A PGlite data directory must be opened by one process only; its lock and
 * the checks of what is found there are in data-directory.ts.
 * https://pgboss.io/database-backends
 */
import { resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import type { ConstructorOptions } from 'pg-boss';
import { fromPglite } from 'pg-boss';
import { OutcomeError, outcome } from '../fhir-model/outcomes.ts';
import { logger } from '../logging.ts';
import { damagedDatabase, prepareDataDirectory } from './data-directory.ts';

export const DEFAULT_SCHEMA = 'irecist';
const SCHEMA_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/;
const PING_TIMEOUT_MS = 2_000;

export type DatabaseKind = 'postgres' | 'pglite';

/** The connection part of pg-boss's constructor options for this database. */
export type BossConnectionOptions = Pick<
  ConstructorOptions,
  'connectionString' | 'schema' | 'max' | 'application_name' | 'db' | 'backend'
>;

export interface Database {
  readonly kind: DatabaseKind;
  /** The schema holding pg-boss's tables and `irecist_state`; a safe identifier, usable unquoted in SQL. */
  readonly schema: string;
  /** Runs one statement with `$n` parameters. */
  query<T = Record<string, unknown>>(text: string, values?: unknown[]): Promise<{ rows: T[] }>;
  /** Runs `work` in one transaction on one connection: committed when it resolves, rolled back when it throws. */
  transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T>;
  /** pg-boss constructor options that connect a new PgBoss instance to this database. */
  bossConnection(options?: { poolSize?: number }): BossConnectionOptions;
  /** For /readyz: true when a trivial query answers within the timeout. Never throws. */
  ping(timeoutMs?: number): Promise<boolean>;
  /** Registers work to run before the connection closes (job queues stop themselves). Returns an unregister function. */
  beforeClose(hook: () => Promise<void>): () => void;
  /** Runs the beforeClose hooks, then closes the pool or PGlite (and releases the data directory). Idempotent. */
  close(): Promise<void>;
}

/** Runs statements; inside `transaction`, on the transaction's connection. */
export interface Queryable {
  query<T = Record<string, unknown>>(text: string, values?: unknown[]): Promise<{ rows: T[] }>;
}

export interface OpenDatabaseOptions {
  /** PostgreSQL connection string; unset = embedded PGlite. */
  databaseUrl?: string;
  /** DATA_DIR; PGlite lives in `${dataDir}/pglite`. */
  dataDir: string;
  /** Schema for all of the adapter's tables. Default `irecist`. */
  schema?: string;
  /** Size of the state-store pool (PostgreSQL only). Default 4. */
  poolSize?: number;
  /** PGlite: refuse (404) when DATA_DIR holds no database, creating nothing (operator commands). Default false. */
  mustExist?: boolean;
}

const databaseUnavailable = (err: unknown): OutcomeError =>
  new OutcomeError(outcome('transient', 'Database unavailable', { diagnostics: errorCode(err) }), 503, { cause: err });

/** True when a trivial query answers within the timeout; never throws. */
async function pingWith(query: () => Promise<unknown>, timeoutMs: number): Promise<boolean> {
  const ok = withTimeout(
    query().then(
      () => true,
      () => false,
    ),
    timeoutMs,
  );
  return (await ok) ?? false;
}

/**
 * Opens the database and creates the schema and the `irecist_state` table if needed.
 * Throws OutcomeError: `invalid` for a bad schema name, `conflict` when the PGlite directory is in use by another
 * process or its database is missing or damaged, `not-found` when `mustExist` finds none, `transient` when
 * PostgreSQL cannot be reached.
 */
export async function openDatabase(options: OpenDatabaseOptions): Promise<Database> {
  const schema = options.schema ?? DEFAULT_SCHEMA;
  if (!SCHEMA_PATTERN.test(schema)) {
    throw new OutcomeError(outcome('invalid', 'Invalid database schema name', { expression: ['schema'] }));
  }
  return options.databaseUrl
    ? openPostgres(options.databaseUrl, schema, options.poolSize ?? 4)
    : openPglite(resolve(options.dataDir), schema, options.mustExist ?? false);
}

function migrationSql(schema: string): string[] {
  return [
    `CREATE SCHEMA IF NOT EXISTS ${schema}`,
    `CREATE TABLE IF NOT EXISTS ${schema}.irecist_state (
      key text PRIMARY KEY,
      value jsonb NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now()
    )`,
  ];
}

interface Closer {
  beforeClose(hook: () => Promise<void>): () => void;
  runHooks(): Promise<void>;
}

/**
 * A Database from the parts of one backend: close runs the beforeClose hooks first, then ends the backend, once.
 * @param parts - The backend's queries, pg-boss connection, ping and how it ends.
 * @returns The handle.
 */
function databaseHandle(parts: Omit<Database, 'beforeClose' | 'close'> & { end: () => Promise<void> }): Database {
  const hooks = closeHooks();
  let closing: Promise<void> | undefined;
  const { end, ...database } = parts;
  logger.info({ kind: parts.kind, schema: parts.schema }, 'Database opened');
  return {
    ...database,
    beforeClose: hooks.beforeClose,
    close() {
      closing ??= (async () => {
        await hooks.runHooks();
        await end();
        logger.info({ kind: parts.kind, schema: parts.schema }, 'Database closed');
      })();
      return closing;
    },
  };
}

function closeHooks(): Closer {
  const hooks = new Set<() => Promise<void>>();
  return {
    beforeClose(hook) {
      hooks.add(hook);
      return () => hooks.delete(hook);
    },
    async runHooks() {
      const pending = [...hooks];
      hooks.clear();
      const results = await Promise.allSettled(pending.map((hook) => hook()));
      const failed = results.filter((r) => r.status === 'rejected').length;
      if (failed) logger.warn({ failed }, 'Database close hooks failed');
    },
  };
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((done) => {
    timer = setTimeout(() => done(undefined), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

async function openPostgres(connectionString: string, schema: string, poolSize: number): Promise<Database> {
  const pool = new pg.Pool({
    connectionString,
    max: poolSize,
    application_name: 'irecist-adapter',
    connectionTimeoutMillis: 10_000,
  });
  pool.on('error', (err) => logger.warn({ code: errorCode(err) }, 'Idle database connection failed'));

  const migrate = async (): Promise<void> => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`irecist_state:${schema}`]);
      for (const statement of migrationSql(schema)) await client.query(statement);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  };
  try {
    try {
      await migrate();
    } catch (err) {
      // pg-boss creates the same schema under its own lock; a simultaneous start elsewhere can race us once.
      if (!['23505', '42P06', '42P07'].includes(errorCode(err) ?? '')) throw err;
      await migrate();
    }
  } catch (err) {
    await pool.end().catch(() => undefined);
    logger.error({ code: errorCode(err) }, 'Database open failed');
    throw databaseUnavailable(err);
  }

  return databaseHandle({
    kind: 'postgres',
    schema,
    async query<T>(text: string, values?: unknown[]) {
      const result = await pool.query(text, values);
      return { rows: result.rows as T[] };
    },
    async transaction(work) {
      const client = await pool.connect();
      // A connection lost between two queries is emitted as 'error' on the checked-out client: without a listener
      // that is an uncaught exception (the process dies). The next query fails instead; the client is discarded.
      let lost: Error | undefined;
      const onError = (err: Error) => {
        lost = err;
        logger.warn({ code: errorCode(err) }, 'Database connection lost in a transaction');
      };
      client.on('error', onError);
      try {
        await client.query('BEGIN');
        const result = await work({
          query: async <T>(text: string, values?: unknown[]) => ({
            rows: (await client.query(text, values)).rows as T[],
          }),
        });
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.removeListener('error', onError);
        client.release(lost);
      }
    },
    bossConnection(options = {}) {
      return { connectionString, schema, max: options.poolSize ?? 5, application_name: 'irecist-adapter-queue' };
    },
    ping: (timeoutMs = PING_TIMEOUT_MS) => pingWith(() => pool.query('SELECT 1'), timeoutMs),
    end: () => pool.end(),
  });
}

async function openPglite(dataDir: string, schema: string, mustExist: boolean): Promise<Database> {
  const directory = await prepareDataDirectory(dataDir, mustExist);
  const release = directory.release;
  let pglite: PGlite;
  try {
    pglite = await PGlite.create(directory.pgliteDir);
  } catch (err) {
    await release();
    logger.error({ code: errorCode(err) }, 'Database open failed');
    throw damagedDatabase(directory.pgliteDir, err);
  }
  try {
    await pglite.exec(migrationSql(schema).join(';\n'));
    await directory.recordDatabase();
  } catch (err) {
    await pglite.close().catch(() => undefined);
    await release();
    logger.error({ code: errorCode(err) }, 'Database open failed');
    throw databaseUnavailable(err);
  }

  return databaseHandle({
    kind: 'pglite',
    schema,
    async query<T>(text: string, values?: unknown[]) {
      const result = await pglite.query<T>(text, values);
      return { rows: result.rows };
    },
    transaction: (work) =>
      pglite.transaction((tx) =>
        work({
          query: async <T>(text: string, values?: unknown[]) => ({ rows: (await tx.query<T>(text, values)).rows }),
        }),
      ),
    bossConnection() {
      return { db: fromPglite(pglite), backend: 'pglite', schema };
    },
    ping: (timeoutMs = PING_TIMEOUT_MS) =>
      pglite.closed ? Promise.resolve(false) : pingWith(() => pglite.query('SELECT 1'), timeoutMs),
    end: async () => {
      try {
        await pglite.close();
      } finally {
        await release();
      }
    },
  });
}
