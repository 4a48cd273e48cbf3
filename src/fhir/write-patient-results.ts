/**
 * Writes one patient's rendered results by the server's write plan (write-plan.ts): takes what the adapter wrote
 * before and where it stands now as the worker's context read found it (read-context-and-earlier.ts), or reads it
 * when not given (written-resources.ts: a backfill's exported context, a context read that could not find it all),
 * decides what to create, update, retract and leave alone (reconcile-writes.ts), sends it (write-results.ts: one
 * transaction, or one request at a time), and records what was written in the ledger. A write the plan allowed but
 * the server refused makes the server's CapabilityStatement be read again before the retry (the server changed under
 * the plan).
 */
import type { MedplumClient } from '@medplum/core';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { type Capabilities, forgetCapabilities } from './capabilities.ts';
import { FhirRequestError } from './http-error.ts';
import { reconcileWrites, type Skip } from './reconcile-writes.ts';
import { planWrites, type WritePlan } from './write-plan.ts';
import { type WriteResult, writeResults } from './write-results.ts';
import { readWrittenResources, type WriteLedger } from './written-resources.ts';

export interface PatientWriteResult extends WriteResult {
  /** Per-timepoint outputs set entered-in-error (their timepoint no longer exists). */
  retracted: number;
  /** Outputs not written, with why. */
  skipped: Skip[];
  plan: WritePlan;
}

/** Answers meaning "this server does not do that" (the plan is out of date), as opposed to bad content. */
const REFUSED = new Set([403, 404, 405, 501]);

/**
 * @param client - The FHIR client.
 * @param patientId - The patient the results are about.
 * @param rendered - The rendered transaction Bundle (to-transaction.ts).
 * @param caps - The server's capabilities.
 * @param ledger - What the adapter wrote before (deletions by others show against it); none = nothing known.
 * @param earlier - The adapter's earlier results as read with the context (readContextAndEarlierResults); undefined:
 *   read here (readWrittenResources).
 * @returns What was written, left as it was, retracted and not written.
 * @throws FhirRequestError (see isRetryable).
 */
export async function writePatientResults(
  client: MedplumClient,
  patientId: string,
  rendered: Bundle,
  caps: Capabilities,
  ledger?: WriteLedger,
  earlier?: readonly Resource[],
): Promise<PatientWriteResult> {
  const plan = planWrites(caps);
  const existing = earlier ?? (await readWrittenResources(client, patientId, plan, caps.batch));
  const wroteBefore = ledger ? await ledger.wrote(patientId) : new Set<string>();
  const decided = reconcileWrites(rendered.entry ?? [], existing, plan, wroteBefore);
  let sent: WriteResult = { written: 0, unchanged: 0 };
  if (decided.entries.length > 0) {
    const bundle: Bundle = { resourceType: 'Bundle', type: 'transaction', entry: decided.entries };
    try {
      sent = await writeResults(client, bundle, {
        ...caps,
        transaction: plan.mode === 'transaction',
        batch: plan.mode === 'batch',
      });
    } catch (err) {
      if (err instanceof FhirRequestError && REFUSED.has(err.status)) forgetCapabilities(client);
      throw err;
    }
  }
  if (ledger) await ledger.record(patientId, decided.keys);
  return {
    written: sent.written,
    unchanged: sent.unchanged + decided.unchanged,
    retracted: decided.retracted,
    skipped: decided.skipped,
    plan,
  };
}
