/**
 * The worker's main job in two round trips (issue #13): one batch read of the patient's context that also carries
 * the write plan's searches for what the adapter wrote before (src/fhir/read-context-and-earlier.ts), the pure
 * pipeline, then the write by the server's write plan (architecture.md, "The flow"; src/fhir/write-patient-results.ts):
 * what the adapter wrote before is changed only where it is still as the adapter left it, and outputs of timepoints
 * that no longer exist retracted. Nothing changed: no write, one round trip. A context given (a backfill's export)
 * or a read that could not find all earlier results: the write reads them itself (one more round trip).
 */
import type { MedplumClient } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import type { ChartThreads } from '../charts/chart-threads.ts';
import type { Capabilities } from '../fhir/capabilities.ts';
import { type ContextAndEarlier, readContextAndEarlierResults } from '../fhir/read-context-and-earlier.ts';
import { isPatientNotFound } from '../fhir/read-patient-context.ts';
import { writePatientResults } from '../fhir/write-patient-results.ts';
import { planWrites } from '../fhir/write-plan.ts';
import type { WriteLedger } from '../fhir/written-resources.ts';
import type { Logger } from '../logging.ts';
import { assessResources, assessResourcesDrawingAhead } from '../pipeline/assess-resources.ts';
import type { Metrics } from '../server/metrics.ts';
import { retireMergedFlags, survivorOf } from './merged-patient.ts';

export interface AssessDeps {
  client: MedplumClient;
  capabilities: () => Promise<Capabilities>;
  metrics: Metrics;
  logger: Logger;
  /** What the adapter wrote per patient (resources deleted by others are not written again); none = not known. */
  ledger?: WriteLedger;
  /** Where the report charts are drawn (off the event loop); none = on this thread, inside the pipeline. */
  chartThreads?: ChartThreads;
}

export interface AssessOutcome {
  written: number;
  unchanged: number;
  retracted: number;
  /** Outputs not written (the server cannot take them, or someone else changed or deleted them). */
  notWritten: number;
  timepoints: number;
  status?: string;
  /** The record this one was merged into (it was not assessed; the survivor is to be). */
  mergedInto?: string;
}

/**
 * Assesses one patient and writes the results (the worker's job; `backfill --from-server` runs it per patient too).
 * @param deps - The FHIR client, capabilities, metrics, logger.
 * @param patientId - The Patient id.
 * @param context - The patient's context when already read (a backfill's Bulk Data export holds it, the same types
 *   as readPatientContext reads; the write then reads the adapter's earlier results itself); undefined reads it, with
 *   the earlier results, from the server.
 * @returns What was written; undefined when the patient does not exist.
 */
export async function assessPatientJob(
  deps: AssessDeps,
  patientId: string,
  context?: Resource[],
): Promise<AssessOutcome | undefined> {
  const caps = await deps.capabilities();
  let read: ContextAndEarlier;
  try {
    read = context ? { context } : await readContextAndEarlierResults(deps.client, patientId, caps);
  } catch (err) {
    if (isPatientNotFound(err)) {
      deps.logger.info({ patientId }, 'patient not found; nothing to assess');
      return undefined;
    }
    throw err;
  }
  const resources = read.context;
  const survivor = survivorOf(resources[0]);
  if (survivor) {
    const retired = await retireMergedFlags(deps.client, resources, caps);
    deps.logger.info(
      { patientId, survivor, flagsSetInactive: retired },
      'merged patient: not assessed; survivor queued',
    );
    return { written: 0, unchanged: 0, retracted: 0, notWritten: 0, timepoints: 0, mergedInto: survivor };
  }
  const stop = deps.metrics.assessmentSeconds.startTimer();
  const options = { outputs: planWrites(caps).outputs };
  const result = deps.chartThreads
    ? await assessResourcesDrawingAhead(resources, options, deps.chartThreads)
    : assessResources(resources, options);
  stop();
  const entries = result.transaction.entry?.length ?? 0;
  const id = patientId.startsWith('Patient/') ? patientId.slice('Patient/'.length) : patientId;
  // Written even with nothing rendered: outputs of timepoints that no longer exist are retracted.
  const stopWrite = deps.metrics.writeSeconds.startTimer();
  const written = await writePatientResults(deps.client, id, result.transaction, caps, deps.ledger, read.earlier);
  stopWrite();
  for (const s of written.skipped) deps.metrics.outputsNotWritten.inc({ type: s.type, reason: s.reason });
  const outcome: AssessOutcome = {
    written: written.written,
    unchanged: written.unchanged,
    retracted: written.retracted,
    notWritten: written.skipped.length,
    timepoints: result.assessment.timepoints.length,
    status: result.assessment.status,
  };
  deps.logger.info({ patientId, resources: resources.length, entries, ...outcome }, 'patient assessed');
  return outcome;
}
