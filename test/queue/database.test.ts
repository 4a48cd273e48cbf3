import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OutcomeError } from '../../src/fhir-model/outcomes.ts';
import { openDatabase } from '../../src/queue/database.ts';
import type { TestTarget } from './backends.ts';
import { BACKENDS } from './backends.ts';

describe.each(BACKENDS.map((b) => [b.name, b] as const))('database on %s', (_name, backend) => {
  let target: TestTarget;

  beforeEach(async () => {
    target = await backend.create();
  });

  afterEach(async () => {
    await target?.dispose();
  });

  it.skipIf(!backend.available)('answers ping while open, not after close, and runs close hooks first', async () => {
    const db = await openDatabase(target.options);
    expect(db.kind).toBe(backend.name);
    expect(await db.ping()).toBe(true);
    const order: string[] = [];
    db.beforeClose(async () => {
      order.push(`hook:${await db.ping()}`);
    });
    const unregistered = db.beforeClose(async () => void order.push('unregistered'));
    unregistered();
    await db.close();
    await db.close();
    expect(order).toEqual(['hook:true']);
    expect(await db.ping()).toBe(false);
  });

  it.skipIf(!backend.available)('commits a transaction whole, or rolls it back whole', async () => {
    const db = await openDatabase(target.options);
    const table = `${db.schema}.irecist_state`;
    const put = (key: string) => `INSERT INTO ${table} (key, value) VALUES ('${key}', '1'::jsonb)`;
    await db.transaction(async (tx) => {
      await tx.query(put('kept-1'));
      await tx.query(put('kept-2'));
    });
    const failed = await db
      .transaction(async (tx) => {
        await tx.query(put('lost-1'));
        throw new Error('second statement failed');
      })
      .catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(Error);
    const { rows } = await db.query<{ key: string }>(`SELECT key FROM ${table} ORDER BY key`);
    expect(rows.map((r) => r.key)).toEqual(['kept-1', 'kept-2']);
    await db.close();
  });
});

describe('database', () => {
  let dataDir: string;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'irecist-db-'));
  });

  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('persists PGlite under DATA_DIR/pglite and refuses a second open of the same directory', async () => {
    const db = await openDatabase({ dataDir });
    expect(db.schema).toBe('irecist');
    const second = await openDatabase({ dataDir }).catch((e: unknown) => e);
    expect(second).toBeInstanceOf(OutcomeError);
    expect((second as OutcomeError).status).toBe(409);
    await db.close();
    const again = await openDatabase({ dataDir });
    expect(await again.ping()).toBe(true);
    await again.close();
  });

  it('takes over a lock left by a process that is gone', async () => {
    await writeFile(join(dataDir, 'pglite.lock'), '999999999');
    const db = await openDatabase({ dataDir });
    expect(await db.ping()).toBe(true);
    await db.close();
  });

  it('rejects a schema name that is not a plain identifier', async () => {
    const error = await openDatabase({ dataDir, schema: 'x; drop table y' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OutcomeError);
    expect((error as OutcomeError).status).toBe(400);
  });

  it('reports an unreachable PostgreSQL as unavailable', async () => {
    const error = await openDatabase({ dataDir, databaseUrl: 'postgres://postgres@127.0.0.1:1/test' }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(OutcomeError);
    expect((error as OutcomeError).status).toBe(503);
  });
});
