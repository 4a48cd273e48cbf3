/**
 * Where a `backfill --from-server` keeps its state, in the service's database (PostgreSQL or PGlite, queue/database.ts),
 * so that a backfill stopped at any moment (SIGINT, SIGKILL, a crash) resumes where it stopped:
 * - `backfill_runs`: one row per backfill: what was asked, the export's status URL once kicked off, its manifest once
 *   complete, the phase (export, download, assess, done);
 * - `backfill_files`: the manifest's files, each marked done once every line of it is staged;
 * - `backfill_resources`: the exported resources, staged by owning patient (`''` for a resource of no patient, such
 *   as a Medication), upserted by type/id so a file downloaded again after an interruption changes nothing;
 * - `backfill_patients`: every patient of the export, pending until its results are written (then done, gone or
 *   failed); a patient's staged resources are deleted in the same transaction that marks it.
 * Nothing here holds more than one batch of lines or one patient's resources in memory.
 * https://hl7.org/fhir/uv/bulkdata/export.html
 */
import type { ExportLevel, ExportManifest } from '../bulk/bulk-client.ts';
import type { Database } from '../queue/database.ts';

export type RunPhase = 'export' | 'download' | 'assess' | 'done';
export type PatientState = 'pending' | 'done' | 'gone' | 'failed';

/** What a backfill asks the server for; a run is resumed only by a backfill asking the same. */
export interface BackfillRequest {
  readonly level: ExportLevel;
  readonly since?: string;
  readonly types: readonly string[];
}

export interface BackfillRun {
  readonly id: number;
  readonly request: BackfillRequest;
  readonly phase: RunPhase;
  readonly statusUrl?: string;
  readonly manifest?: ExportManifest;
}

/** One exported resource as staged: its owner (`''` for none), type, id and the NDJSON line itself. */
export interface StagedResource {
  readonly patientId: string;
  readonly type: string;
  readonly id: string;
  readonly body: string;
}

export interface PatientCounts {
  readonly pending: number;
  readonly done: number;
  readonly gone: number;
  readonly failed: number;
}

export interface BackfillStore {
  /** The run not yet done, if any (at most one). */
  unfinishedRun(): Promise<BackfillRun | undefined>;
  startRun(request: BackfillRequest): Promise<BackfillRun>;
  /** Drops a run and everything staged for it. */
  discardRun(runId: number): Promise<void>;
  setStatusUrl(runId: number, statusUrl: string): Promise<void>;
  /** Records the manifest and its output files; the run moves to the download phase. */
  setManifest(runId: number, manifest: ExportManifest): Promise<void>;
  /** The export job is gone (expired, deleted): forget it and what was staged from it; patients done stay done. */
  resetExport(runId: number): Promise<void>;
  /** Output files not yet staged completely. */
  pendingFiles(runId: number): Promise<string[]>;
  /** Stages a batch of resources (last one wins per type/id) and registers their patients. */
  stage(runId: number, resources: readonly StagedResource[]): Promise<void>;
  fileDone(runId: number, url: string): Promise<void>;
  setPhase(runId: number, phase: RunPhase): Promise<void>;
  counts(runId: number): Promise<PatientCounts>;
  /** Up to `limit` pending patients after `after`, in id order. */
  pendingPatients(runId: number, after: string, limit: number): Promise<string[]>;
  /** A patient's staged resources and the unowned ones they refer to. */
  contextOf(runId: number, patientId: string): Promise<StagedResource[]>;
  /** Marks a patient and deletes its staged resources, in one transaction. */
  finishPatient(
    runId: number,
    patientId: string,
    state: Exclude<PatientState, 'pending'>,
    detail?: string,
  ): Promise<void>;
  /** The run is done: its files, staged resources and the rows of patients not failed go; the run keeps the counts. */
  finishRun(runId: number, summary: PatientCounts): Promise<void>;
}

const REFERENCE = /"reference"\s*:\s*"([A-Za-z]+\/[A-Za-z0-9\-.]{1,64})"/g;

/**
 * Creates the tables if needed and returns the store.
 * @param db - The open database (its schema holds the tables).
 * @returns The store.
 */
export async function openBackfillStore(db: Database): Promise<BackfillStore> {
  const s = db.schema;
  await db.transaction(async (tx) => {
    await tx.query(`CREATE TABLE IF NOT EXISTS ${s}.backfill_runs (
      id serial PRIMARY KEY, request jsonb NOT NULL, phase text NOT NULL, status_url text, manifest jsonb,
      summary jsonb, started_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now())`);
    await tx.query(`CREATE TABLE IF NOT EXISTS ${s}.backfill_files (
      run_id integer NOT NULL, url text NOT NULL, done boolean NOT NULL DEFAULT false, PRIMARY KEY (run_id, url))`);
    await tx.query(`CREATE TABLE IF NOT EXISTS ${s}.backfill_resources (
      run_id integer NOT NULL, patient_id text NOT NULL, type text NOT NULL, id text NOT NULL, body text NOT NULL,
      PRIMARY KEY (run_id, type, id))`);
    await tx.query(
      `CREATE INDEX IF NOT EXISTS backfill_resources_patient ON ${s}.backfill_resources (run_id, patient_id)`,
    );
    await tx.query(`CREATE TABLE IF NOT EXISTS ${s}.backfill_patients (
      run_id integer NOT NULL, patient_id text NOT NULL, state text NOT NULL, detail text,
      PRIMARY KEY (run_id, patient_id))`);
  });

  const runOf = (row: Record<string, unknown>): BackfillRun => ({
    id: Number(row.id),
    request: row.request as BackfillRequest,
    phase: row.phase as RunPhase,
    ...(row.status_url ? { statusUrl: row.status_url as string } : {}),
    ...(row.manifest ? { manifest: row.manifest as ExportManifest } : {}),
  });
  const touch = `updated_at = now()`;

  return {
    async unfinishedRun() {
      const { rows } = await db.query(
        `SELECT id, request, phase, status_url, manifest FROM ${s}.backfill_runs WHERE phase <> 'done'
         ORDER BY id DESC LIMIT 1`,
      );
      return rows[0] ? runOf(rows[0]) : undefined;
    },
    async startRun(request) {
      const { rows } = await db.query(
        `INSERT INTO ${s}.backfill_runs (request, phase) VALUES ($1::text::jsonb, 'export')
         RETURNING id, request, phase, status_url, manifest`,
        [JSON.stringify(request)],
      );
      return runOf(rows[0] as Record<string, unknown>);
    },
    async discardRun(runId) {
      await db.transaction(async (tx) => {
        for (const table of ['backfill_files', 'backfill_resources', 'backfill_patients'])
          await tx.query(`DELETE FROM ${s}.${table} WHERE run_id = $1`, [runId]);
        await tx.query(`DELETE FROM ${s}.backfill_runs WHERE id = $1`, [runId]);
      });
    },
    async setStatusUrl(runId, statusUrl) {
      await db.query(`UPDATE ${s}.backfill_runs SET status_url = $2, ${touch} WHERE id = $1`, [runId, statusUrl]);
    },
    async setManifest(runId, manifest) {
      await db.transaction(async (tx) => {
        await tx.query(
          `UPDATE ${s}.backfill_runs SET manifest = $2::text::jsonb, phase = 'download', ${touch} WHERE id = $1`,
          [runId, JSON.stringify(manifest)],
        );
        await tx.query(
          `INSERT INTO ${s}.backfill_files (run_id, url) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING`,
          [runId, manifest.output.map((f) => f.url)],
        );
      });
    },
    async resetExport(runId) {
      await db.transaction(async (tx) => {
        await tx.query(`DELETE FROM ${s}.backfill_files WHERE run_id = $1`, [runId]);
        await tx.query(`DELETE FROM ${s}.backfill_resources WHERE run_id = $1`, [runId]);
        await tx.query(
          `UPDATE ${s}.backfill_runs SET status_url = NULL, manifest = NULL, phase = 'export', ${touch} WHERE id = $1`,
          [runId],
        );
      });
    },
    async pendingFiles(runId) {
      const { rows } = await db.query<{ url: string }>(
        `SELECT url FROM ${s}.backfill_files WHERE run_id = $1 AND NOT done ORDER BY url`,
        [runId],
      );
      return rows.map((r) => r.url);
    },
    async stage(runId, resources) {
      const unique = new Map<string, StagedResource>();
      for (const r of resources) unique.set(`${r.type}/${r.id}`, r);
      const rows = [...unique.values()];
      if (rows.length === 0) return;
      const patients = [...new Set(rows.map((r) => r.patientId).filter((p) => p !== ''))];
      await db.transaction(async (tx) => {
        await tx.query(
          `INSERT INTO ${s}.backfill_resources (run_id, patient_id, type, id, body)
           SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[])
           ON CONFLICT (run_id, type, id) DO UPDATE SET patient_id = EXCLUDED.patient_id, body = EXCLUDED.body`,
          [
            runId,
            rows.map((r) => r.patientId),
            rows.map((r) => r.type),
            rows.map((r) => r.id),
            rows.map((r) => r.body),
          ],
        );
        if (patients.length > 0)
          await tx.query(
            `INSERT INTO ${s}.backfill_patients (run_id, patient_id, state)
             SELECT $1, unnest($2::text[]), 'pending' ON CONFLICT DO NOTHING`,
            [runId, patients],
          );
      });
    },
    async fileDone(runId, url) {
      await db.query(`UPDATE ${s}.backfill_files SET done = true WHERE run_id = $1 AND url = $2`, [runId, url]);
    },
    async setPhase(runId, phase) {
      await db.query(`UPDATE ${s}.backfill_runs SET phase = $2, ${touch} WHERE id = $1`, [runId, phase]);
    },
    async counts(runId) {
      const { rows } = await db.query<{ state: PatientState; n: string | number }>(
        `SELECT state, count(*) AS n FROM ${s}.backfill_patients WHERE run_id = $1 GROUP BY state`,
        [runId],
      );
      const counts = { pending: 0, done: 0, gone: 0, failed: 0 };
      for (const row of rows) counts[row.state] = Number(row.n);
      return counts;
    },
    async pendingPatients(runId, after, limit) {
      const { rows } = await db.query<{ patient_id: string }>(
        `SELECT patient_id FROM ${s}.backfill_patients WHERE run_id = $1 AND state = 'pending' AND patient_id > $2
         ORDER BY patient_id LIMIT $3`,
        [runId, after, limit],
      );
      return rows.map((r) => r.patient_id);
    },
    async contextOf(runId, patientId) {
      const select = `SELECT patient_id AS "patientId", type, id, body FROM ${s}.backfill_resources`;
      const own = (
        await db.query<StagedResource>(`${select} WHERE run_id = $1 AND patient_id = $2`, [runId, patientId])
      ).rows;
      const referenced = new Set<string>();
      for (const r of own) for (const m of r.body.matchAll(REFERENCE)) referenced.add(m[1] as string);
      if (referenced.size === 0) return own;
      const shared = await db.query<StagedResource>(
        `${select} WHERE run_id = $1 AND patient_id = '' AND type || '/' || id = ANY($2::text[])`,
        [runId, [...referenced]],
      );
      return [...own, ...shared.rows];
    },
    async finishPatient(runId, patientId, state, detail) {
      await db.transaction(async (tx) => {
        await tx.query(
          `UPDATE ${s}.backfill_patients SET state = $3, detail = $4 WHERE run_id = $1 AND patient_id = $2`,
          [runId, patientId, state, detail ?? null],
        );
        await tx.query(`DELETE FROM ${s}.backfill_resources WHERE run_id = $1 AND patient_id = $2`, [runId, patientId]);
      });
    },
    async finishRun(runId, summary) {
      await db.transaction(async (tx) => {
        for (const table of ['backfill_files', 'backfill_resources'])
          await tx.query(`DELETE FROM ${s}.${table} WHERE run_id = $1`, [runId]);
        await tx.query(`DELETE FROM ${s}.backfill_patients WHERE run_id = $1 AND state <> 'failed'`, [runId]);
        await tx.query(
          `UPDATE ${s}.backfill_runs SET phase = 'done', summary = $2::text::jsonb, ${touch} WHERE id = $1`,
          [runId, JSON.stringify(summary)],
        );
      });
    },
  };
}
