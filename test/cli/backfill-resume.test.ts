/**
 * The backfill's resumption, step by step, in process (src/backfill over the sandbox's $export on loopback HTTP, state
 * in a PGlite directory of its own): stopped while downloading, it downloads only what is missing and stages nothing
 * twice; an export job the server no longer has is exported again; a patient is assessed again only when it was not
 * marked done; retryable failures are retried, definite ones mark the patient failed and the rest go on; a different
 * unfinished backfill is refused unless discarded.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AssessOne } from '../../src/backfill/assess-staged.ts';
import { openBackfillStore } from '../../src/backfill/backfill-store.ts';
import { contextResourceTypes } from '../../src/backfill/context-types.ts';
import type { BackfillEvents } from '../../src/backfill/run-backfill.ts';
import { BackfillInterrupted, runBackfill } from '../../src/backfill/run-backfill.ts';
import { createBulkClient } from '../../src/bulk/bulk-client.ts';
import { errorForStatus } from '../../src/fhir/http-error.ts';
import { OutcomeError } from '../../src/fhir-model/outcomes.ts';
import { type Database, openDatabase } from '../../src/queue/database.ts';
import { type SandboxHarness, startSandbox } from '../sandbox/harness.ts';
import { ROOT } from './run-cli.ts';

const CASES = join(ROOT, 'samples', 'cases');
const caseFiles = readdirSync(CASES).filter((f) => f.endsWith('.bundle.json'));
const PATIENTS = caseFiles.length;

let h: SandboxHarness;
const dirs: string[] = [];
beforeAll(async () => {
  h = await startSandbox({ bulkExport: { retryAfterSeconds: 0, resourcesPerFile: 50 } });
  for (const file of caseFiles)
    expect((await h.load(JSON.parse(readFileSync(join(CASES, file), 'utf8')))).status).toBe(200);
});
afterAll(async () => {
  await h?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function database(): Promise<Database> {
  const dir = mkdtempSync(join(tmpdir(), 'irecist-backfill-resume-'));
  dirs.push(dir);
  return openDatabase({ dataDir: dir });
}

const bulk = () =>
  createBulkClient(
    { port: 0, fhir: { baseUrl: h.baseUrl, timeoutMs: 10_000, auth: { mode: 'none' } } },
    { sleep: async () => undefined },
  );
const request = { level: { kind: 'system' as const }, types: contextResourceTypes() };
const options = (signal = new AbortController().signal) => ({
  request,
  dryRun: false,
  restart: false,
  concurrency: 2,
  signal,
});

function events(onStaged?: (n: number) => void): BackfillEvents & { notes: string[] } {
  const notes: string[] = [];
  return {
    notes,
    note: (t) => void notes.push(t),
    staged: (n) => onStaged?.(n),
    started: () => undefined,
    progressed: () => undefined,
  };
}

/** Records every patient assessed and whether it came with its context. */
function recorder(): { assess: AssessOne; calls: { id: string; withContext: boolean; types: string[] }[] } {
  const calls: { id: string; withContext: boolean; types: string[] }[] = [];
  return {
    calls,
    assess: async (id, context) => {
      calls.push({ id, withContext: context !== undefined, types: (context ?? []).map((r) => r.resourceType) });
      return 'done';
    },
  };
}

describe('backfill resumption', { timeout: 120_000 }, () => {
  it('stopped while downloading: the next run downloads the rest, stages nothing twice, assesses each patient once', async () => {
    const db = await database();
    try {
      const stop = new AbortController();
      const first = recorder();
      let firstStaged = 0;
      const stopAtFirstFile = events((n) => {
        firstStaged = n;
        stop.abort();
      });
      await expect(runBackfill(db, bulk(), first.assess, stopAtFirstFile, options(stop.signal))).rejects.toThrow();
      expect(first.calls).toEqual([]);
      expect(firstStaged).toBeGreaterThan(0);

      const second = recorder();
      const ev = events();
      const summary = await runBackfill(db, bulk(), second.assess, ev, options());
      expect(summary.resumed).toBe(true);
      expect(ev.notes).toContain('resuming the unfinished backfill (download phase)');
      // The file staged before the stop is not downloaded again; the others are, once.
      const exported = request.types.reduce((n, t) => n + h.sandbox.repo.listCurrent(t as 'Patient').length, 0);
      expect(firstStaged + summary.staged).toBe(exported);
      expect(summary.counts).toEqual({ pending: 0, done: PATIENTS, gone: 0, failed: 0 });
      expect(new Set(second.calls.map((c) => c.id)).size).toBe(PATIENTS);
      expect(second.calls.length).toBe(PATIENTS);
      // Every patient came with its whole context from the export, Medications they refer to included.
      expect(second.calls.every((c) => c.withContext && c.types[0] !== undefined)).toBe(true);
      expect(second.calls.every((c) => c.types.includes('Patient'))).toBe(true);
      // Done: nothing left staged, and the next backfill is a new one.
      const left = await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${db.schema}.backfill_resources`);
      expect(Number(left.rows[0]?.n)).toBe(0);
      expect(await (await openBackfillStore(db)).unfinishedRun()).toBeUndefined();
    } finally {
      await db.close();
    }
  });

  it('a job gone from the server on resume is exported again', async () => {
    const db = await database();
    try {
      const store = await openBackfillStore(db);
      const run = await store.startRun(request);
      const client = bulk();
      const statusUrl = await client.kickOff({ level: request.level, types: request.types });
      await store.setStatusUrl(run.id, statusUrl);
      expect((await h.fhir('DELETE', statusUrl)).status).toBe(202);

      const ev = events();
      const rec = recorder();
      const summary = await runBackfill(db, client, rec.assess, ev, options());
      expect(ev.notes).toContain('the export job is gone from the server (expired or deleted); exporting again');
      expect(summary.counts.done).toBe(PATIENTS);
    } finally {
      await db.close();
    }
  });

  it('interrupted between patients: the patients done are not assessed again', async () => {
    const db = await database();
    try {
      const stop = new AbortController();
      const first = recorder();
      const stopAfterThree: AssessOne = async (id, context) => {
        const result = await first.assess(id, context);
        if (first.calls.length === 3) stop.abort();
        return result;
      };
      await expect(runBackfill(db, bulk(), stopAfterThree, events(), options(stop.signal))).rejects.toBeInstanceOf(
        BackfillInterrupted,
      );
      const done = new Set(first.calls.map((c) => c.id));
      const second = recorder();
      const summary = await runBackfill(db, bulk(), second.assess, events(), options());
      expect(second.calls.filter((c) => done.has(c.id))).toEqual([]);
      expect(done.size + second.calls.length).toBe(PATIENTS);
      expect(summary.counts.done).toBe(PATIENTS);
    } finally {
      await db.close();
    }
  });

  it('retries a retryable failure; a definite refusal marks the patient failed and the rest go on', async () => {
    const db = await database();
    try {
      const tries = new Map<string, number>();
      const ids = caseFiles.map((f) => f.replace('.bundle.json', '')).sort();
      const assess: AssessOne = async (id) => {
        tries.set(id, (tries.get(id) ?? 0) + 1);
        if (id === ids[0] && tries.get(id) === 1) throw errorForStatus(503, { retryAfter: '0' });
        if (id === ids[1]) throw errorForStatus(422);
        return 'done';
      };
      const summary = await runBackfill(db, bulk(), assess, events(), options());
      expect(tries.get(ids[0] as string)).toBe(2);
      expect(tries.get(ids[1] as string)).toBe(1);
      expect(summary.counts).toEqual({ pending: 0, done: PATIENTS - 1, gone: 0, failed: 1 });
    } finally {
      await db.close();
    }
  });

  it('refuses to mix with a different unfinished backfill; --restart discards it', async () => {
    const db = await database();
    try {
      const store = await openBackfillStore(db);
      await store.startRun({ level: { kind: 'group', groupId: 'other' }, types: request.types });
      const refused = runBackfill(db, bulk(), recorder().assess, events(), options());
      await expect(refused).rejects.toBeInstanceOf(OutcomeError);
      await expect(refused).rejects.toThrow(/another backfill \(Group\/other\) is unfinished/);
      const summary = await runBackfill(db, bulk(), recorder().assess, events(), { ...options(), restart: true });
      expect(summary.counts.done).toBe(PATIENTS);
    } finally {
      await db.close();
    }
  });
});
