/**
 * The worker's main job: one batch read of the patient's context, the pure pipeline, one transaction write
 * (architecture.md, "The flow"). Two FHIR round trips per assessment where the server has batch and transaction.
 */
import type { MedplumClient } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import type { Capabilities } from '../fhir/capabilities.ts';
import { isPatientNotFound, readPatientContext } from '../fhir/read-patient-context.ts';
import { writeResults } from '../fhir/write-results.ts';
import type { Logger } from '../logging.ts';
import { assessResources } from '../pipeline/assess-resources.ts';
import type { Metrics } from '../server/metrics.ts';

export interface AssessDeps {
  client: MedplumClient;
  capabilities: () => Promise<Capabilities>;
  metrics: Metrics;
  logger: Logger;
}

export interface AssessOutcome {
  written: number;
  unchanged: number;
  timepoints: number;
  status?: string;
}

/**
 * Assesses one patient and writes the results (the worker's job; `backfill --from-server` runs it per patient too).
 * @param deps - The FHIR client, capabilities, metrics, logger.
 * @param patientId - The Patient id.
 * @param context - The patient's context when already read (a backfill's Bulk Data export holds it, the same types
 *   as readPatientContext reads); undefined reads it from the server.
 * @returns What was written; undefined when the patient does not exist.
 */
export async function assessPatientJob(
  deps: AssessDeps,
  patientId: string,
  context?: Resource[],
): Promise<AssessOutcome | undefined> {
  const caps = await deps.capabilities();
  let resources: Awaited<ReturnType<typeof readPatientContext>>;
  try {
    resources = context ?? (await readPatientContext(deps.client, patientId, caps));
  } catch (err) {
    if (isPatientNotFound(err)) {
      deps.logger.info({ patientId }, 'patient not found; nothing to assess');
      return undefined;
    }
    throw err;
  }
  const stop = deps.metrics.assessmentSeconds.startTimer();
  const result = assessResources(resources);
  stop();
  const entries = result.transaction.entry?.length ?? 0;
  if (entries === 0) {
    deps.logger.info({ patientId, resources: resources.length }, 'no post-baseline timepoint; nothing written');
    return { written: 0, unchanged: 0, timepoints: 0 };
  }
  const stopWrite = deps.metrics.writeSeconds.startTimer();
  const written = await writeResults(deps.client, result.transaction, caps);
  stopWrite();
  const outcome = { ...written, timepoints: result.assessment.timepoints.length, status: result.assessment.status };
  deps.logger.info({ patientId, resources: resources.length, entries, ...outcome }, 'patient assessed');
  return outcome;
}
