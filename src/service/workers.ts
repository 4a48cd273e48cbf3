/**
 * The service's job handlers: assess a patient, find the patient behind a resource, catch up. Each is counted in
 * /metrics; a retryable failure first waits what the FHIR server asked for (Retry-After), a definite refusal is
 * dead-lettered at once.
 */
import type { MedplumClient } from '@medplum/core';
import type { ChartThreads } from '../charts/chart-threads.ts';
import type { Capabilities } from '../fhir/capabilities.ts';
import { isFinalRefusal, isOverloadAnswer, isRetryable } from '../fhir/http-error.ts';
import type { WriteLedger } from '../fhir/written-resources.ts';
import type { Logger } from '../logging.ts';
import type { DetectionTask } from '../polling/change-detection.ts';
import type { JobContext, JobQueue } from '../queue/job-queue.ts';
import type { Metrics } from '../server/metrics.ts';
import { assessPatientJob } from '../worker/assess-patient.ts';
import { waitForRetryAfter } from '../worker/honour-retry-after.ts';
import type { PatientThrottle } from '../worker/patient-throttle.ts';
import { resolvePatientsOf } from '../worker/resolve-resource.ts';
import type { Enqueue } from './enqueue.ts';

export interface WorkerDeps {
  client: MedplumClient;
  capabilities: () => Promise<Capabilities>;
  metrics: Metrics;
  logger: Logger;
  throttle: PatientThrottle;
  enqueue: Enqueue;
  poller: DetectionTask;
  /** What the adapter wrote per patient (a resource deleted by someone else is not written again). */
  ledger?: WriteLedger;
  /** Where report charts are drawn (CHART_THREAD); none = inside the pipeline, on the event loop. */
  chartThreads?: ChartThreads;
  /** assess-patient jobs at once in this process, to start with, and the range it adapts within. */
  concurrency: number;
  concurrencyRange: { min: number; max: number };
}

/** Runs one job's work, counting its outcome; a retryable failure waits out the server's Retry-After first. */
function counted(metrics: Metrics, kind: string, context: JobContext, work: () => Promise<void>): Promise<void> {
  return work().then(
    () => void metrics.jobs.inc({ kind, outcome: 'done' }),
    async (err: unknown) => {
      const retry = isRetryable(err);
      metrics.jobs.inc({ kind, outcome: retry ? 'retry' : 'failed' });
      if (retry) await waitForRetryAfter(err, context);
      throw err;
    },
  );
}

/**
 * Starts the handlers of every job kind on the queue.
 * @param queue - The job queue.
 * @param deps - What the handlers need.
 */
export async function startWorkers(queue: JobQueue, deps: WorkerDeps): Promise<void> {
  const { client, metrics, logger: log } = deps;
  const assessDeps = {
    client,
    capabilities: deps.capabilities,
    metrics,
    logger: log,
    ledger: deps.ledger,
    ...(deps.chartThreads ? { chartThreads: deps.chartThreads } : {}),
  };
  await queue.work(
    'assess-patient',
    (p, ctx) => {
      deps.throttle.started(p.patientId);
      return counted(metrics, 'assess-patient', ctx, async () => {
        const outcome = await assessPatientJob(assessDeps, p.patientId);
        // A record merged into another: the survivor is assessed with all the data (#11 item 3).
        if (outcome?.mergedInto) await deps.enqueue([{ kind: 'assess-patient', patientId: outcome.mergedInto }]);
      });
    },
    {
      concurrency: deps.concurrency,
      minConcurrency: deps.concurrencyRange.min,
      maxConcurrency: deps.concurrencyRange.max,
      isFinal: isFinalRefusal,
      isOverload: isOverloadAnswer,
    },
  );
  await queue.work(
    'resolve-resource',
    (p, ctx) =>
      counted(metrics, 'resolve-resource', ctx, async () => {
        const patients = await resolvePatientsOf(client, p.resourceType, p.id, p.deleted, p.earlierSubjects);
        if (patients.length) await deps.enqueue(patients.map((patientId) => ({ kind: 'assess-patient', patientId })));
        else if (!p.earlierSubjects) {
          // Gone from the server with no history, or about no patient: dropped and counted, never a dead letter.
          metrics.jobs.inc({ kind: 'resolve-resource', outcome: 'dropped' });
          log.info({ resourceType: p.resourceType, id: p.id }, 'no patient found for resource; dropped');
        }
      }),
    { isFinal: isFinalRefusal },
  );
  await queue.work('catch-up', (p, ctx) =>
    counted(metrics, 'catch-up', ctx, async () => {
      const result = await deps.poller.runOnce();
      log.info({ reason: p.reason, patients: result.patientIds.length }, 'catch-up done');
    }),
  );
}
