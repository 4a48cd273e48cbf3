/**
 * The phases of the service benchmark (bench/service.bench.ts): the bare minimum, notification-to-Flag runs,
 * coalescing, and the intake load with the worker's drain after it.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { readCapabilities } from '../../src/fhir/capabilities.ts';
import { createFhirClient } from '../../src/fhir/client-factory.ts';
import { readPatientContext } from '../../src/fhir/read-patient-context.ts';
import { writeResults } from '../../src/fhir/write-results.ts';
import { assessResources } from '../../src/pipeline/assess-resources.ts';
import type { LoadResult } from '../intake-load.ts';
import { closedLoopLoad } from '../load-child.ts';
import { casesFor, type PatientCase } from '../sample-cases.ts';
import type { BenchHarness } from './harness.ts';
import { counters, delayedFetch, stage } from './instrumentation.ts';
import {
  COALESCE_COUNT,
  DRAIN_MS,
  INTAKE_CONCURRENCY,
  INTAKE_COUNT,
  INTAKE_WARMUP,
  LOOP_RESOLUTION_MS,
  PATIENTS,
  say,
  sleep,
  WARMUP_PATIENTS,
} from './settings.ts';

export type IntervalHistogram = ReturnType<typeof monitorEventLoopDelay>;

export interface BareMinimum {
  read: number[];
  write: number[];
  total: number[];
}

/**
 * 1. The bare minimum: for clones of the benchmark's patients (the adapter's Subscriptions off), the batch read and
 * the transaction write of a precomputed transaction, directly against the sandbox with the adapter's own client.
 */
export async function bareMinimum(h: BenchHarness): Promise<BareMinimum> {
  const bare: BareMinimum = { read: [], write: [], total: [] };
  const client = createFhirClient(h.config, { baseUrl: h.fhirBase, fetch: delayedFetch });
  const caps = await readCapabilities(client);
  for (const [i, { patientId, body }] of casesFor(WARMUP_PATIENTS + PATIENTS, 'b').entries()) {
    await h.postTransaction(body);
    const precomputed = assessResources(await readPatientContext(client, patientId, caps)).transaction;
    if (!precomputed.entry?.some((e) => e.resource?.resourceType === 'Flag')) {
      throw new Error(`no Flag in the transaction for ${patientId}`);
    }
    const t0 = performance.now();
    await readPatientContext(client, patientId, caps);
    const t1 = performance.now();
    await writeResults(client, precomputed, caps);
    const t2 = performance.now();
    if (i < WARMUP_PATIENTS) continue;
    bare.read.push(t1 - t0);
    bare.write.push(t2 - t1);
    bare.total.push(t2 - t0);
  }
  return bare;
}

export interface LatencyRun {
  patientIds: string[];
  failed: number;
  loop: IntervalHistogram;
  wallMs: number;
}

/**
 * 2 and 3. Notification-to-Flag, one patient at a time: `single` loads the data with the adapter's Subscriptions
 * off and sends ONE signed notification; `sandbox` lets the sandbox notify per resource of the transaction.
 */
export async function latencyRun(
  h: BenchHarness,
  patients: PatientCase[],
  notify: 'single' | 'sandbox',
): Promise<LatencyRun> {
  let failed = 0;
  const loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  loop.enable();
  const t0 = performance.now();
  for (const { patientId, body } of patients) {
    const arrival = h.flagArrival(patientId);
    if (notify === 'single') {
      await h.postTransaction(body);
      stage(patientId, 'posted');
      stage(patientId, 'notifySent');
      const status = await h.notifyPatient(patientId, 0);
      stage(patientId, 'notifyAcked');
      if (status !== 200) throw new Error(`notification refused: ${status}`);
    } else {
      stage(patientId, 'posted');
      await h.postTransaction(body);
    }
    try {
      await arrival;
    } catch (err) {
      failed++;
      say(String(err));
    }
    // The rest of this transaction's notifications land before the next patient (their jobs may still wait).
    await h.sandbox.waitForIdle();
  }
  const wallMs = performance.now() - t0;
  loop.disable();
  return { patientIds: patients.map((p) => p.patientId), failed, loop, wallMs };
}

export interface Coalesced {
  assessments: number;
  writes: number;
  sentMs: number;
  quiet: boolean;
}

/** 4. Coalescing: COALESCE_COUNT notifications for one patient, spread over `spreadMs` (0 = at once). */
export async function coalesce(h: BenchHarness, patientId: string, spreadMs: number): Promise<Coalesced> {
  const reads0 = counters.readsPerPatient.get(patientId) ?? 0;
  const writes0 = counters.writesPerPatient.get(patientId) ?? 0;
  const t0 = performance.now();
  const sends: Promise<number>[] = [];
  for (let i = 0; i < COALESCE_COUNT; i++) {
    if (spreadMs > 0) await sleep(Math.max(0, t0 + (i * spreadMs) / COALESCE_COUNT - performance.now()));
    sends.push(h.notifyPatient(patientId, i + 1));
  }
  const statuses = await Promise.all(sends);
  const sentMs = performance.now() - t0;
  const refused = statuses.find((s) => s !== 200);
  if (refused !== undefined) throw new Error(`coalescing: a notification was refused (${refused})`);
  const quiet = await h.waitForQuiet(15_000);
  return {
    assessments: (counters.readsPerPatient.get(patientId) ?? 0) - reads0,
    writes: (counters.writesPerPatient.get(patientId) ?? 0) - writes0,
    sentMs,
    quiet,
  };
}

export interface IntakeRun {
  load: LoadResult;
  enqueueTimes: number[];
  loop: IntervalHistogram;
  assessedDuring: number;
  sqlPerNotification: number;
  backlogAfter: number;
  drainPerSecond: number;
}

/** 5. Intake throughput from a child process (bench/intake-load.ts), then how fast the worker drains the backlog. */
export async function intakeRun(h: BenchHarness): Promise<IntakeRun> {
  say(
    `intake: ${INTAKE_WARMUP} warm-up + ${INTAKE_COUNT} notifications, one patient each, ${INTAKE_CONCURRENCY} in flight`,
  );
  const assessmentsBefore = await h.assessmentsDone();
  const sqlBefore = counters.sqlStatements;
  const loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  loop.enable();
  h.enqueueTimes.length = 0;
  const load = await closedLoopLoad(
    {
      url: h.service.url,
      secret: h.config.webhook.secret,
      subscriptionId: 'benchmark',
      count: INTAKE_COUNT,
      warmup: INTAKE_WARMUP,
      concurrency: INTAKE_CONCURRENCY,
      patientPrefix: 'intake-',
    },
    60_000,
  );
  const enqueueTimes = [...h.enqueueTimes];
  loop.disable();
  const assessedDuring = (await h.assessmentsDone()) - assessmentsBefore;
  const sqlPerNotification = (counters.sqlStatements - sqlBefore) / load.sent;
  const backlogAfter = (await h.service.queue.stats()).queued;

  say(`draining the intake backlog for ${DRAIN_MS / 1000} s`);
  const drainStart = await h.assessmentsDone();
  await sleep(DRAIN_MS);
  const drainPerSecond = ((await h.assessmentsDone()) - drainStart) / (DRAIN_MS / 1000);
  return { load, enqueueTimes, loop, assessedDuring, sqlPerNotification, backlogAfter, drainPerSecond };
}
