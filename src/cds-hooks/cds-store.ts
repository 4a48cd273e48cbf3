/**
 * What the CDS Hooks service keeps, in the service's own schema through the queue's database handle:
 * - the JWT ids seen (`jti`, per issuer, until the token expires), so a replayed token is refused;
 * - the cards issued (uuid, status, indicator: no patient id, no text), so feedback can be counted by what it was on;
 * - the feedback received (accepted / overridden, the override reason, the clinician's comment).
 * https://cds-hooks.hl7.org/2.0/#feedback
 */
import type { Database } from '../queue/database.ts';

export interface IssuedCard {
  uuid: string;
  status: string;
  indicator: string;
}

export interface FeedbackItem {
  card: string;
  outcome: 'accepted' | 'overridden';
  outcomeTimestamp: string;
  reason?: { system: string; code: string; display?: string };
  userComment?: string;
}

/** What one feedback item was recorded as: `unknown-card` when no card with that uuid was issued here. */
export type FeedbackRecord = { stored: true; indicator: string; duplicate: boolean } | { stored: false };

export interface CdsStore {
  /** Records a JWT id; false when the same issuer's id was seen before and has not expired (a replay). */
  claimJwtId(iss: string, jti: string, expiresAt: Date): Promise<boolean>;
  recordCards(cards: readonly IssuedCard[]): Promise<void>;
  recordFeedback(item: FeedbackItem): Promise<FeedbackRecord>;
}

/** Longest comment kept: feedback is for learning why cards are overridden, not for notes. */
const MAX_COMMENT = 1_000;
/** Expired JWT ids are swept every this many claims. */
const SWEEP_EVERY = 100;
const RACE_CODES = new Set(['23505', '42P06', '42P07']);

function tablesSql(schema: string): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS ${schema}.cds_hooks_jwt_ids (
      iss text NOT NULL, jti text NOT NULL, expires_at timestamptz NOT NULL, PRIMARY KEY (iss, jti))`,
    `CREATE TABLE IF NOT EXISTS ${schema}.cds_hooks_cards (
      uuid text PRIMARY KEY, status text NOT NULL, indicator text NOT NULL, issued_at timestamptz NOT NULL DEFAULT now())`,
    `CREATE TABLE IF NOT EXISTS ${schema}.cds_hooks_feedback (
      card text NOT NULL REFERENCES ${schema}.cds_hooks_cards (uuid), outcome text NOT NULL,
      outcome_timestamp text NOT NULL, reason_system text, reason_code text, reason_display text, user_comment text,
      received_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (card, outcome, outcome_timestamp))`,
  ];
}

/**
 * Creates the tables if needed and returns the store.
 * @param db - The service's database (PostgreSQL or PGlite).
 * @returns The store.
 */
export async function openCdsStore(db: Database): Promise<CdsStore> {
  const schema = db.schema;
  for (const statement of tablesSql(schema)) {
    try {
      await db.query(statement);
    } catch (err) {
      // Two instances starting at once can both try to create the table; the loser finds it there.
      if (!RACE_CODES.has(String((err as { code?: unknown }).code))) throw err;
      await db.query(statement);
    }
  }
  let claims = 0;
  return {
    async claimJwtId(iss, jti, expiresAt) {
      if (++claims % SWEEP_EVERY === 0) {
        await db.query(`DELETE FROM ${schema}.cds_hooks_jwt_ids WHERE expires_at < now()`);
      }
      const { rows } = await db.query(
        `INSERT INTO ${schema}.cds_hooks_jwt_ids (iss, jti, expires_at) VALUES ($1, $2, $3)
         ON CONFLICT (iss, jti) DO UPDATE SET expires_at = EXCLUDED.expires_at
           WHERE ${schema}.cds_hooks_jwt_ids.expires_at < now()
         RETURNING jti`,
        [iss, jti, expiresAt.toISOString()],
      );
      return rows.length === 1;
    },
    async recordCards(cards) {
      for (const card of cards) {
        await db.query(`INSERT INTO ${schema}.cds_hooks_cards (uuid, status, indicator) VALUES ($1, $2, $3)`, [
          card.uuid,
          card.status,
          card.indicator,
        ]);
      }
    },
    async recordFeedback(item) {
      const { rows: cards } = await db.query<{ indicator: string }>(
        `SELECT indicator FROM ${schema}.cds_hooks_cards WHERE uuid = $1`,
        [item.card],
      );
      const indicator = cards[0]?.indicator;
      if (indicator === undefined) return { stored: false };
      const { rows } = await db.query(
        `INSERT INTO ${schema}.cds_hooks_feedback
           (card, outcome, outcome_timestamp, reason_system, reason_code, reason_display, user_comment)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING card`,
        [
          item.card,
          item.outcome,
          item.outcomeTimestamp,
          item.reason?.system ?? null,
          item.reason?.code ?? null,
          item.reason?.display ?? null,
          item.userComment?.slice(0, MAX_COMMENT) ?? null,
        ],
      );
      return { stored: true, indicator, duplicate: rows.length === 0 };
    },
  };
}
