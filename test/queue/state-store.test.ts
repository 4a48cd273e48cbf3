import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OutcomeError } from '../../src/fhir-model/outcomes.ts';
import type { Database } from '../../src/queue/database.ts';
import { openDatabase } from '../../src/queue/database.ts';
import { createStateStore } from '../../src/queue/state-store.ts';
import type { TestTarget } from './backends.ts';
import { BACKENDS } from './backends.ts';

describe.each(BACKENDS.map((b) => [b.name, b] as const))('state store on %s', (_name, backend) => {
  let target: TestTarget;
  let db: Database;

  beforeEach(async () => {
    target = await backend.create();
    db = await openDatabase(target.options);
  });

  afterEach(async () => {
    await db?.close();
    await target?.dispose();
  });

  it.skipIf(!backend.available)('returns undefined for a key never set', async () => {
    expect(await createStateStore(db).get('poll:checkpoint')).toBeUndefined();
  });

  it.skipIf(!backend.available)('stores JSON values of every shape and overwrites them', async () => {
    const store = createStateStore(db);
    const values: [string, unknown][] = [
      ['object', { lastUpdated: '2024-05-01T10:00:00Z', page: 3 }],
      ['array', [1, 'two', { three: 3 }]],
      ['number', 42],
      ['string', 'abc'],
      ['boolean', false],
      ['null', null],
    ];
    for (const [key, value] of values) await store.set(key, value);
    for (const [key, value] of values) expect(await store.get(key)).toEqual(value);
    await store.set('number', 43);
    expect(await store.get('number')).toBe(43);
  });

  it.skipIf(!backend.available)('deletes a key set to undefined', async () => {
    const store = createStateStore(db);
    await store.set('backport:sub-1', { eventNumber: 7 });
    await store.set('backport:sub-1', undefined);
    expect(await store.get('backport:sub-1')).toBeUndefined();
  });

  it.skipIf(!backend.available)('keeps values across a reopen and records when they were updated', async () => {
    await createStateStore(db).set('backport:sub-1', { eventNumber: 12 });
    await db.close();
    db = await openDatabase(target.options);
    expect(await createStateStore(db).get('backport:sub-1')).toEqual({ eventNumber: 12 });
    const { rows } = await db.query<{ key: string; updated_at: Date }>(
      `SELECT key, updated_at FROM ${db.schema}.irecist_state`,
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]!.updated_at).toBeInstanceOf(Date);
  });

  it.skipIf(!backend.available)(
    'adds to a set in one statement: sorted, no repeats, nothing lost to a second writer',
    async () => {
      const store = createStateStore(db);
      await store.addToSet('written:p1', ['Flag|b', 'DiagnosticReport|a', 'Flag|b']);
      expect(await store.get('written:p1')).toEqual(['DiagnosticReport|a', 'Flag|b']);
      // Two writers at once (a backfill beside the service): both additions stay.
      const other = createStateStore(db);
      await Promise.all([
        store.addToSet('written:p1', ['Observation|c']),
        other.addToSet('written:p1', ['Observation|B', 'Flag|b']),
      ]);
      expect(await store.get('written:p1')).toEqual(['DiagnosticReport|a', 'Flag|b', 'Observation|B', 'Observation|c']);
      await store.addToSet('written:p1', []);
      expect(await store.get('written:p1')).toHaveLength(4);
    },
  );

  it.skipIf(!backend.available)(
    'writes nothing when every string is in the set already, and replaces a value that is not a set',
    async () => {
      const store = createStateStore(db);
      await store.addToSet('written:p2', ['a', 'b']);
      const updatedAt = async () =>
        (
          await db.query<{ updated_at: Date }>(`SELECT updated_at FROM ${db.schema}.irecist_state WHERE key = $1`, [
            'written:p2',
          ])
        ).rows[0]?.updated_at.getTime();
      const first = await updatedAt();
      await new Promise((resolve) => setTimeout(resolve, 20));
      await store.addToSet('written:p2', ['b']);
      expect(await updatedAt()).toBe(first);
      await store.set('written:p3', { not: 'a set' });
      await store.addToSet('written:p3', ['x']);
      expect(await store.get('written:p3')).toEqual(['x']);
    },
  );

  it.skipIf(!backend.available)('rejects an empty key and a value that is not JSON', async () => {
    const store = createStateStore(db);
    await expect(store.get('')).rejects.toBeInstanceOf(OutcomeError);
    await expect(store.set('k', () => 1)).rejects.toBeInstanceOf(OutcomeError);
  });
});
