/**
 * Several real adapter processes on one PostgreSQL database behind the same notifications: each notification goes to
 * a random instance, some to all of them. Every instance reaches the FHIR server through a proxy of its own that
 * records each patient's context read (which carries the searches for the adapter's earlier results), any separate
 * read of the earlier results and each result write, so the test sees from the server's side which instance assessed
 * whom and when. Every patient must end exactly as `assess` gives, written in one write
 * (later assessments find nothing to change), and no two assessments of one patient may overlap in time, whichever
 * instances ran them.
 *
 * Beyond test/e2e/reliability-instances.test.ts (two in-process services): child processes, three of them, and one
 * SIGKILLed mid-burst while the others carry on. The jobs it was running stay `active` until pg-boss's maintenance
 * pass, in a surviving process, finds their heartbeat lost (heartbeat 10 s, a pass every 10 s from each process's
 * start: src/queue/job-queue.ts defaults, not settable from the CLI) and puts them back for a retry (2-4 s); the test
 * measures that hand-over and prints it.
 *
 * CHAOS_SEED=<n> re-runs with the same notifications, routing and kill moment.
 */
import { describe, expect, it } from 'vitest';
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
  type AdapterProcess,
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
  pick,
  seededRandom,
  waitForQuietBacklog,
} from './burst-kill-drills.ts';
import { AssessmentRecorder } from './recording-proxy-kill-drills.ts';

const SEED = chaosSeed();
console.info(`instance drills: seed ${SEED} (re-run with CHAOS_SEED=${SEED})`);

const NOTIFICATIONS_PER_PATIENT = 5;
/** Share of the notifications sent to every instance (a fan-out, or a server that retried elsewhere). */
const TO_ALL = 0.2;

interface Fleet {
  cases: TestCase[];
  instances: AdapterProcess[];
  recorder: AssessmentRecorder;
  databaseUrl: string;
  fhir: SandboxServer;
}

async function startFleet(
  size: number,
  copies: readonly string[],
  cleanups: (() => Promise<void>)[],
  readDelayMs = 30,
): Promise<Fleet> {
  const fhir = await startSandboxServer();
  cleanups.push(() => fhir.close());
  const cases = caseNames().flatMap((name) => copies.map((copy) => loadCase(name, copy)));
  await loadCases(fhir.baseUrl, cases);
  const scratch = await scratchDatabase(`fleet${size}`);
  cleanups.push(() => scratch.drop());
  const recorder = new AssessmentRecorder(fhir.baseUrl);
  cleanups.push(() => recorder.close());
  const instances: AdapterProcess[] = [];
  for (const label of 'ABC'.slice(0, size)) {
    // A short hold on each context read widens the window in which a double assessment would show.
    const proxy = await recorder.proxy({ label, readDelayMs });
    const instance = await adapterProcess({
      fhirBaseUrl: proxy.baseUrl,
      database: { kind: 'postgres', url: scratch.url },
      label,
    });
    cleanups.push(() => instance.stop());
    instances.push(instance);
  }
  // Started together on an empty database, as replicas of a deployment are (their migrations race).
  await Promise.all(instances.map((i) => i.start()));
  return { cases, instances, recorder, databaseUrl: scratch.url, fhir };
}

async function expectEveryPatientRight(fleet: Fleet, where: string): Promise<void> {
  for (const tc of fleet.cases) {
    expectAssessed(fleet.fhir.repo, tc);
    expect(await reportVersionCounts(fleet.fhir.repo, tc.patientId), `${where}: ${tc.name} written once`).toEqual(
      Array(expectedOutcome(tc).reportIds.length).fill(1),
    );
  }
  expect(fleet.fhir.repo.listCurrent('Provenance'), where).toHaveLength(fleet.cases.length);
  expect(fleet.recorder.overlaps(), `${where}: assessments of one patient overlapped`).toEqual([]);
  expect(fleet.recorder.anomalies, where).toEqual([]);
  expect(
    fleet.recorder.notWrittenOnce(fleet.cases.map((tc) => tc.patientId)),
    `${where}: each patient's result written in one write`,
  ).toEqual({});
  expect(fleet.recorder.openReads(), `${where}: a live instance's assessment left unfinished`).toEqual([]);
  const jobs = await withClient(fleet.databaseUrl, async (c) => (await c.query<AssessJob>(ASSESS_JOBS_SQL)).rows);
  expect(
    jobs.filter((j) => j.state !== 'completed'),
    `${where}: every job completed`,
  ).toEqual([]);
}

/** Where each attempt of a notification goes: its chosen instance while it lives, else a random live one. */
function router(fleet: Fleet, random: () => number) {
  return (chosen: AdapterProcess) => (): string | undefined => {
    if (chosen.running) return chosen.url;
    const live = fleet.instances.filter((i) => i.running);
    return live.length ? pick(live, random).url : undefined;
  };
}

describe.concurrent('several adapter processes on one PostgreSQL database', () => {
  it('two instances, notifications to either or both: every patient right, no assessment overlaps another', async () => {
    const where = `two instances, seed ${SEED}`;
    const random = seededRandom(SEED);
    const cleanups: (() => Promise<void>)[] = [];
    try {
      const setupStarted = performance.now();
      const fleet = await startFleet(2, ['m1', 'm2', 'm3'], cleanups);
      const started = performance.now();
      const burst = await notificationBurst(fleet.fhir, fleet.cases, NOTIFICATIONS_PER_PATIENT, random);
      const routeTo = router(fleet, random);
      const stats: DeliveryStats = { accepted: 0, resent: 0, refused: 0 };
      const sends = burst.flatMap(({ notification }) =>
        (random() < TO_ALL ? fleet.instances : [pick(fleet.instances, random)]).map((instance) => ({
          notification,
          instance,
        })),
      );
      await pacedBurst(sends, { spacingMs: 10, concurrency: 8 }, ({ notification, instance }) =>
        deliver(notification, routeTo(instance), stats),
      );
      const burstDone = performance.now();
      await waitForQuietBacklog(() => fleet.instances[0]?.url as string, 120_000);
      const seconds = (from: number, to: number) => ((to - from) / 1000).toFixed(1);
      console.info(
        `${where}: ${fleet.cases.length} patients, ${sends.length} notifications; start ${seconds(setupStarted, started)} s, ` +
          `burst ${seconds(started, burstDone)} s, quiet ${seconds(burstDone, performance.now())} s after it; ` +
          `${fleet.recorder.intervals.length} assessments`,
      );

      expect(stats, `${where}: a healthy fleet takes every notification at once`).toEqual({
        accepted: sends.length,
        resent: 0,
        refused: 0,
      });
      await expectEveryPatientRight(fleet, where);
      const byInstance = new Set(fleet.recorder.intervals.map((i) => i.instance));
      expect(byInstance, `${where}: both instances assessed`).toEqual(new Set(['A', 'B']));
    } finally {
      for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    }
  }, 180_000);

  it('three instances, one SIGKILLed mid-burst: the others finish its jobs after the heartbeat expiry', async () => {
    const where = `three instances, seed ${SEED}`;
    const random = seededRandom(SEED + 7);
    const cleanups: (() => Promise<void>)[] = [];
    try {
      // A longer hold here: an assessment then spends most of its time in its read, so the instance killed for having
      // one open is still in it when the signal lands (with a short hold its write could already be on the wire).
      const fleet = await startFleet(3, ['t1', 't2', 't3'], cleanups, 250);
      const started = performance.now();
      const burst = await notificationBurst(fleet.fhir, fleet.cases, NOTIFICATIONS_PER_PATIENT, random);
      const routeTo = router(fleet, random);
      const stats: DeliveryStats = { accepted: 0, resent: 0, refused: 0 };
      const sends = burst.flatMap(({ notification }) =>
        (random() < TO_ALL ? fleet.instances : [pick(fleet.instances, random)]).map((instance) => ({
          notification,
          instance,
        })),
      );
      const victimDraw = random();
      const killAfter = Math.floor(sends.length * (0.2 + random() * 0.4));

      let kill: { victim: AdapterProcess; at: number; orphaned: string[]; orphanJobs: AssessJob[] } | undefined;
      const killing = (async () => {
        while (stats.accepted < killAfter) await new Promise((r) => setTimeout(r, 5));
        // The victim is drawn among the instances assessing someone at that moment, so it leaves jobs in flight (the
        // shared queue decides who works when: a victim fixed in advance may be idle for seconds).
        // Only a context read begun less than 100 ms ago counts: it is still held (250 ms) when the signal lands, where
        // an older one may finish its assessment (no write, or a quick one) while the kill is under way.
        const assessing = () =>
          fleet.instances.filter((i) =>
            fleet.recorder.openReads(i.label).some((o) => o.phase === 'context' && performance.now() - o.start < 100),
          );
        const until = performance.now() + 15_000;
        while (assessing().length === 0 && performance.now() < until) await new Promise((r) => setTimeout(r, 5));
        const candidates = assessing();
        const victim = candidates.length
          ? (candidates[Math.floor(victimDraw * candidates.length)] as AdapterProcess)
          : pick(fleet.instances, () => victimDraw);
        const at = await victim.kill();
        const orphaned = fleet.recorder.killed(victim.label, at);
        const active = await withClient(
          fleet.databaseUrl,
          async (c) => (await c.query<AssessJob>(`${ASSESS_JOBS_SQL} AND state = 'active'`)).rows,
        );
        kill = { victim, at, orphaned, orphanJobs: active.filter((j) => orphaned.includes(j.key)) };
      })();
      await Promise.all([
        pacedBurst(sends, { spacingMs: 15, concurrency: 8 }, ({ notification, instance }) =>
          deliver(notification, routeTo(instance), stats),
        ),
        killing,
      ]);
      if (!kill) throw new Error('no kill');
      const { victim, at: killedAt, orphaned, orphanJobs } = kill;

      // Watch the orphaned jobs in the database: when the maintenance pass fails them back to the queue.
      const expiredAt = new Map<string, number>();
      const ids = orphanJobs.map((j) => j.id);
      const watching = withClient(fleet.databaseUrl, async (c) => {
        const deadline = performance.now() + 180_000;
        while (expiredAt.size < ids.length && performance.now() < deadline) {
          const sql = `${ASSESS_JOBS_SQL} AND id = ANY($1::uuid[]) AND state <> 'active'`;
          for (const row of (await c.query<AssessJob>(sql, [ids])).rows) {
            if (!expiredAt.has(row.id)) expiredAt.set(row.id, performance.now());
          }
          await new Promise((r) => setTimeout(r, 100));
        }
      });
      await waitForQuietBacklog(() => fleet.instances.find((i) => i.running)?.url as string, 180_000);
      await watching;

      const takeovers = orphaned.map((patientId) => {
        const next = fleet.recorder.reads.find(
          (r) => r.patientId === patientId && r.instance !== victim.label && r.at > killedAt,
        );
        return { patientId, by: next?.instance, afterS: next ? (next.at - killedAt) / 1000 : Number.NaN };
      });
      const expiries = [...expiredAt.values()].map((t) => (t - killedAt) / 1000);
      console.info(
        `${where}: ${fleet.cases.length} patients, ${sends.length} notifications (${stats.resent} re-sent); ` +
          `${victim.label} killed at ${((killedAt - started) / 1000).toFixed(1)} s with ${orphaned.length} ` +
          `assessments in flight; their jobs failed back by the maintenance pass after ` +
          `${expiries.map((s) => s.toFixed(1)).join(', ')} s and taken over (context read by another instance) after ` +
          `${takeovers.map((t) => `${t.afterS.toFixed(1)} s by ${t.by}`).join(', ')}`,
      );

      expect(stats.accepted, where).toBe(sends.length);
      expect(stats.refused, `${where}: no live instance refused a notification`).toBe(0);
      expect(orphaned.length, `${where}: the kill left assessments in flight`).toBeGreaterThan(0);
      expect(orphanJobs.map((j) => j.key).sort(), `${where}: their jobs were active at the kill`).toEqual(
        [...orphaned].sort(),
      );
      expect(expiredAt.size, `${where}: every orphaned job was failed back`).toBe(orphanJobs.length);
      for (const t of takeovers) {
        expect(t.by, `${where}: ${t.patientId} taken over by a survivor`).toBeDefined();
        expect(t.by, where).not.toBe(victim.label);
      }
      await expectEveryPatientRight(fleet, where);
      const survivors = fleet.instances.filter((i) => i !== victim).map((i) => i.label);
      const afterKill = new Set(fleet.recorder.intervals.filter((i) => i.start > killedAt).map((i) => i.instance));
      expect(afterKill.size, `${where}: survivors assessed after the kill`).toBeGreaterThan(0);
      expect(
        [...afterKill].every((label) => survivors.includes(label)),
        `${where}: only survivors`,
      ).toBe(true);
      const jobs = await withClient(fleet.databaseUrl, async (c) => (await c.query<AssessJob>(ASSESS_JOBS_SQL)).rows);
      const orphanIds = new Set(orphanJobs.map((j) => j.id));
      expect(
        jobs.filter((j) => orphanIds.has(j.id)).every((j) => j.retries >= 1),
        `${where}: orphaned jobs completed on a retry`,
      ).toBe(true);
    } finally {
      for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    }
  }, 240_000);
});
