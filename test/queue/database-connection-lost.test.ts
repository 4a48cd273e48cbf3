/**
 * A PostgreSQL connection lost in the middle of a transaction (between two of its queries: the server restarted,
 * the backend was terminated) fails that transaction; it must not surface as an uncaught 'error' event on the
 * checked-out client, which would end the process (found by test/chaos/postgres-restart.test.ts).
 */
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/queue/database.ts';
import { POSTGRES_URL, postgres, type TestTarget } from './backends.ts';

describe('database on postgres: a connection lost mid-transaction', () => {
  let target: TestTarget | undefined;
  afterEach(async () => {
    await target?.dispose();
    target = undefined;
  });

  it.skipIf(!postgres.available)('fails the transaction, and the next one runs on a fresh connection', async () => {
    target = await postgres.create();
    const db = await openDatabase(target.options);
    try {
      const failed = await db
        .transaction(async (tx) => {
          const { rows } = await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
          const admin = new pg.Client({ connectionString: POSTGRES_URL });
          await admin.connect();
          try {
            await admin.query('SELECT pg_terminate_backend($1)', [rows[0]?.pid]);
          } finally {
            await admin.end();
          }
          // Let the client see the connection end before it sends anything: the 'error' event comes first.
          await new Promise((r) => setTimeout(r, 200));
          await tx.query('SELECT 1');
        })
        .catch((err: unknown) => err);
      expect(failed).toBeInstanceOf(Error);
      expect(await db.transaction(async (tx) => (await tx.query<{ n: number }>('SELECT 1 AS n')).rows)).toEqual([
        { n: 1 },
      ]);
    } finally {
      await db.close();
    }
  });
});
