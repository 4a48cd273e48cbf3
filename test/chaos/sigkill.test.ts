/**
 * SIGKILL drills, on PostgreSQL and on PGlite: the real adapter (a child process) takes a burst of notifications for
 * many patients and is killed with SIGKILL at seeded random moments, several times, each time started again on the
 * same database; notifications refused or unanswered while it is down are sent again. When the queue is quiet, every
 * patient must be exactly what `assess` gives (reports, one Flag, nothing twice, each report written once), no two
 * assessments of a patient may have overlapped across the restarts (seen from the FHIR server's side), and the
 * queue must hold nothing failed or dead-lettered. A job a killed process was running stays `active` until pg-boss's
 * maintenance pass finds its heartbeat lost (heartbeat 10 s, a pass every 10 s, src/queue/job-queue.ts defaults, which
 * the CLI cannot change), so each drill waits up to about 20 s for those.
 *
 * CHAOS_SEED=<n> re-runs a drill with the same patients' notifications, order and kill moments.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/queue/database.ts';
import {
  caseNames,
  expectAssessed,
  expectedOutcome,
  loadCase,
  loadCases,
  reportVersionCounts,
  type TestCase,
} from '../e2e/cases.ts';
import { type SandboxServer, startSandboxServer } from '../e2e/harness.ts';
import {
  type AdapterDatabase,
  ASSESS_JOBS_SQL,
  type AssessJob,
  adapterProcess,
  scratchDatabase,
  withClient,
} from './adapter-process.ts';
import {
  chaosSeed,
  type DeliveryStats,
  deliver,
  notificationBurst,
  pacedBurst,
  seededRandom,
  waitForQuietBacklog,
} from './burst-kill-drills.ts';
import { AssessmentRecorder } from './recording-proxy-kill-drills.ts';

const SEED = chaosSeed();
console.info(`sigkill drills: seed ${SEED} (re-run with CHAOS_SEED=${SEED})`);

const COPIES = ['k1', 'k2', 'k3'];
const NOTIFICATIONS_PER_PATIENT = 5;
const SPACING_MS = 40;
/** Each restart costs seconds of start-up, and the orphans' wait only begins after the last one. */
const KILLS = 3;
/** How long the proxy holds each context read before passing it on (a window for the kill to land in). */
const READ_HOLD_MS = 200;

describe.concurrent('SIGKILL drills: killed mid-burst, restarted on the same database', () => {
  it.for(['postgres', 'pglite'] as const)(
    '%s: every patient assessed exactly as assess gives, nothing twice, nothing lost',
    { timeout: 240_000 },
    async (kind) => {
      const seed = kind === 'postgres' ? SEED : SEED + 1;
      const random = seededRandom(seed);
      const where = `${kind} drill, seed ${SEED}`;
      const cleanups: (() => Promise<void>)[] = [];
      const setupStarted = performance.now();
      try {
        const fhir: SandboxServer = await startSandboxServer();
        cleanups.push(() => fhir.close());
        const cases: TestCase[] = caseNames().flatMap((name) => COPIES.map((copy) => loadCase(name, copy)));

        let database: AdapterDatabase;
        if (kind === 'postgres') {
          const scratch = await scratchDatabase('sigkill');
          cleanups.push(() => scratch.drop());
          database = { kind, url: scratch.url };
        } else {
          const dataDir = mkdtempSync(join(tmpdir(), 'irecist-sigkill-pglite-'));
          cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
          database = { kind, dataDir };
        }

        const recorder = new AssessmentRecorder(fhir.baseUrl);
        cleanups.push(() => recorder.close());
        // One proxy; what arrives is labelled with the adapter's generation (run1, run2...), so a killed process's
        // assessments are told apart from its successor's. Each context read is held READ_HOLD_MS: the kill lands
        // inside a hold (below), as the assessment's other requests leave the server nothing to see it by (since the
        // one read, the pipeline's time after the read is answered is no longer followed by an earlier-results read).
        let generation = () => 'run0';
        const proxy = await recorder.proxy({ label: () => generation(), readDelayMs: READ_HOLD_MS });
        const adapter = await adapterProcess({ fhirBaseUrl: proxy.baseUrl, database, label: `${kind}-adapter` });
        generation = () => `run${adapter.starts}`;
        cleanups.push(() => adapter.stop());
        // The first start (a new database) and the patients' data load are independent: done side by side.
        await Promise.all([adapter.start(), loadCases(fhir.baseUrl, cases)]);

        const burst = await notificationBurst(fhir, cases, NOTIFICATIONS_PER_PATIENT, random);
        // Each kill comes a random while after the adapter is up (it spends seconds starting, so absolute moments
        // would bunch up), and each restart a random while after the kill.
        const uptimes = Array.from({ length: KILLS }, () => 200 + Math.floor(random() * 1_000));
        const downtimes = uptimes.map(() => Math.floor(random() * 600));

        const stats: DeliveryStats = { accepted: 0, resent: 0, refused: 0 };
        const kills: { at: number; label: string; orphaned: string[]; activeJobs: string[]; restartMs: number }[] = [];
        const started = performance.now();
        const sending = pacedBurst(burst, { spacingMs: SPACING_MS, concurrency: 6 }, ({ notification }) =>
          deliver(notification, () => adapter.url, stats),
        );
        const killing = (async () => {
          for (const [k, uptime] of uptimes.entries()) {
            await new Promise((r) => setTimeout(r, uptime));
            // Prefer a moment with an assessment under way (up to 3 s more), so jobs are orphaned in flight: a context
            // read begun less than a quarter of the hold ago, still held when the signal lands.
            const until = performance.now() + 3_000;
            const justRead = () =>
              recorder
                .openReads(generation())
                .some((o) => o.phase === 'context' && performance.now() - o.start < READ_HOLD_MS / 4);
            while (!justRead() && performance.now() < until) {
              await new Promise((r) => setTimeout(r, 10));
            }
            const label = generation();
            const at = await adapter.kill();
            const orphaned = recorder.killed(label, at);
            // With the only process dead, every active job in PostgreSQL is an orphan.
            const activeJobs =
              database.kind === 'postgres'
                ? await withClient(database.url, async (c) =>
                    (await c.query<{ id: string }>(`${ASSESS_JOBS_SQL} AND state = 'active'`)).rows.map((r) => r.id),
                  )
                : [];
            await new Promise((r) => setTimeout(r, downtimes[k]));
            const restarting = performance.now();
            await adapter.start();
            kills.push({ at: at - started, label, orphaned, activeJobs, restartMs: performance.now() - restarting });
          }
        })();
        await Promise.all([sending, killing]);
        const burstDone = performance.now();

        const backlog = await waitForQuietBacklog(() => adapter.url, 180_000);
        const quietAfterMs = performance.now() - burstDone;
        const orphanedPatients = kills.flatMap((k) => k.orphaned);
        // The first read of each orphaned patient by a later generation: when its job was taken over.
        const takeovers = kills.flatMap((k) =>
          k.orphaned.map((patientId) => {
            const next = recorder.reads.find(
              (r) => r.patientId === patientId && r.instance !== k.label && r.at > k.at + started,
            );
            return next ? (next.at - (k.at + started)) / 1000 : Number.NaN;
          }),
        );
        console.info(
          `${where}: ${cases.length} patients, ${burst.length} notifications (${stats.resent} re-sent), ` +
            `${kills.length} kills at ${kills.map((k) => `${(k.at / 1000).toFixed(1)}s/${k.orphaned.length} orphaned/restart ${(k.restartMs / 1000).toFixed(1)}s`).join(', ')}; ` +
            `setup ${((started - setupStarted) / 1000).toFixed(1)} s, burst ${((burstDone - started) / 1000).toFixed(1)} s, ` +
            `quiet ${(quietAfterMs / 1000).toFixed(1)} s after the burst; orphan taken over after ` +
            `${takeovers.map((t) => t.toFixed(1)).join(', ')} s`,
        );

        expect(stats.accepted, where).toBe(burst.length);
        expect(stats.refused, `${where}: a running adapter refused a notification`).toBe(0);
        expect(kills, where).toHaveLength(KILLS);
        expect(stats.resent, `${where}: notifications sent while it was down were sent again`).toBeGreaterThan(0);
        expect(orphanedPatients.length, `${where}: some kill hit an assessment in flight`).toBeGreaterThan(0);
        expect(takeovers.every(Number.isFinite), `${where}: every orphaned patient assessed again`).toBe(true);
        expect(backlog.deadLettered, where).toBe(0);

        for (const tc of cases) {
          expectAssessed(fhir.repo, tc);
          expect(await reportVersionCounts(fhir.repo, tc.patientId), `${where}: ${tc.name} written once`).toEqual(
            Array(expectedOutcome(tc).reportIds.length).fill(1),
          );
        }
        expect(fhir.repo.listCurrent('Provenance'), where).toHaveLength(cases.length);
        expect(recorder.overlaps(), `${where}: assessments of one patient overlapped`).toEqual([]);
        expect(recorder.anomalies, where).toEqual([]);
        expect(
          recorder.notWrittenOnce(cases.map((tc) => tc.patientId)),
          `${where}: each patient's result written in one write`,
        ).toEqual({});
        expect(recorder.openReads(), `${where}: a live process's assessment left unfinished`).toEqual([]);

        // The queue itself, read directly: every job done, the orphans among them (PostgreSQL: the ids seen active).
        let jobs: AssessJob[];
        if (database.kind === 'postgres') {
          jobs = await withClient(database.url, async (c) => (await c.query<AssessJob>(ASSESS_JOBS_SQL)).rows);
        } else {
          // A clean shutdown, then the data directory opened again: it must still be a sound database.
          await adapter.stop();
          const db = await openDatabase({ dataDir: database.dataDir });
          try {
            jobs = (await db.query<AssessJob>(ASSESS_JOBS_SQL)).rows;
          } finally {
            await db.close();
          }
        }
        expect(
          jobs.filter((j) => j.state !== 'completed'),
          where,
        ).toEqual([]);
        // Only a heartbeat expiry fails a job here, so a job that took more than one attempt was an orphan.
        expect(jobs.filter((j) => j.retries >= 1).length, `${where}: orphans retried`).toBeGreaterThan(0);
        const orphanJobs = new Set(kills.flatMap((k) => k.activeJobs));
        const orphanRows = jobs.filter((j) => orphanJobs.has(j.id));
        expect(orphanRows.length, where).toBe(orphanJobs.size);
        expect(
          orphanRows.every((j) => j.retries >= 1),
          `${where}: orphans completed on a retry`,
        ).toBe(true);
      } finally {
        for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
      }
    },
  );
});
