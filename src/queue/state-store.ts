/**
 * A small durable key/value store in the service's database (`${schema}.irecist_state`, created by openDatabase):
 * polling checkpoints, the last Backport event number per subscription. Values are JSON.
 */
import { badRequest } from '../fhir-model/outcomes.ts';
import type { Database } from './database.ts';

export interface StateStore {
  /** The stored value, or undefined when the key was never set (or was deleted). */
  get(key: string): Promise<unknown | undefined>;
  /** Stores a JSON-serialisable value; `undefined` deletes the key. Durable when it resolves. */
  set(key: string, value: unknown): Promise<void>;
  /**
   * Adds strings to the set stored at `key` (a JSON array, sorted, no repeats), in one statement: no read first and
   * no lost update when two processes add at once. Writes nothing when every string is there already.
   */
  addToSet(key: string, values: readonly string[]): Promise<void>;
}

const MAX_KEY_LENGTH = 256;

export function createStateStore(db: Database): StateStore {
  const table = `${db.schema}.irecist_state`;
  const checkKey = (key: string): void => {
    if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH) {
      throw badRequest('Invalid state key', ['key']);
    }
  };
  return {
    async get(key) {
      checkKey(key);
      const { rows } = await db.query<{ value: unknown }>(`SELECT value FROM ${table} WHERE key = $1`, [key]);
      return rows[0]?.value;
    },
    async set(key, value) {
      checkKey(key);
      if (value === undefined) {
        await db.query(`DELETE FROM ${table} WHERE key = $1`, [key]);
        return;
      }
      const json = JSON.stringify(value);
      if (json === undefined) throw badRequest('State value is not JSON', ['value']);
      // Bound as text and cast, so neither driver re-encodes the JSON (pg would turn arrays into PostgreSQL arrays).
      await db.query(
        `INSERT INTO ${table} (key, value, updated_at) VALUES ($1, $2::text::jsonb, now())
         ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at`,
        [key, json],
      );
    },
    async addToSet(key, values) {
      checkKey(key);
      if (values.length === 0) return;
      const added = [...new Set(values)].sort();
      // A stored value that is not an array counts as empty (as the ledger's reader treats it); "C" orders by bytes
      // whatever the database's collation, so the stored array does not depend on the server's locale.
      await db.query(
        `INSERT INTO ${table} AS stored (key, value, updated_at) VALUES ($1, $2::text::jsonb, now())
         ON CONFLICT (key) DO UPDATE SET
           value = (
             SELECT jsonb_agg(element ORDER BY element COLLATE "C")
             FROM (
               SELECT DISTINCT element FROM jsonb_array_elements_text(
                 CASE WHEN jsonb_typeof(stored.value) = 'array' THEN stored.value ELSE '[]'::jsonb END || EXCLUDED.value
               ) AS element
             ) AS elements
           ),
           updated_at = EXCLUDED.updated_at
         WHERE jsonb_typeof(stored.value) <> 'array' OR NOT stored.value @> EXCLUDED.value`,
        [key, JSON.stringify(added)],
      );
    },
  };
}
