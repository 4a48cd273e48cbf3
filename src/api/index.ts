/**
 * irecist-adapter's programmatic API (the package's `exports`), for integration engineers who embed the engine:
 * a Medplum bot, a Mirth channel script, a batch job. One call: a FHIR Bundle of one patient's history in, the
 * transaction Bundle to write back and the typed Assessment out. Pure: no I/O, no server, no database.
 *
 *   import { assessBundle } from 'irecist-adapter';
 *   const { transaction, assessment } = assessBundle(bundle);
 *
 * The package is TypeScript source with no build step: run it from a checkout with Node >= 24 (types stripped), or
 * bundle it (esbuild, as Medplum bots are deployed). Node does not strip types inside node_modules.
 */
import type { Bundle } from '@medplum/fhirtypes';
import { assessBundle as runPipeline } from '../pipeline/assess-resources.ts';
import { type Assessment, toPublicAssessment } from './assessment.ts';

export { OutcomeError } from '../fhir-model/outcomes.ts';
export type {
  Assessment,
  DataQualityNote,
  NonTargetResponse,
  PatientStatus,
  ProgressionCategory,
  RecistResponse,
  TargetResponse,
  TimepointResponse,
  TimepointSummary,
} from './assessment.ts';

export interface AssessOptions {
  /** The instant recorded in the Provenance (default: now). Fix it to make the output byte-for-byte repeatable. */
  now?: string;
}

export interface AssessResult {
  /**
   * A FHIR R4 transaction Bundle: per timepoint a DiagnosticReport and Observations, the chart Flag, a Provenance;
   * conditional on identifiers, so posting it again changes nothing. Empty (no entries) before a first
   * post-baseline timepoint.
   */
  transaction: Bundle;
  assessment: Assessment;
  /** Data the engine could not use or is unsure of, one line each (what `assess` prints on stderr). */
  notes: string[];
}

/**
 * Assesses one patient's history by RECIST 1.1 and iRECIST.
 * @param bundle - A FHIR R4 Bundle (collection, transaction, batch, searchset or history) of one patient's resources:
 *   Patient, tumour-size and non-target Observations, ImagingStudy, MedicationAdministration, BodyStructure.
 * @param options - `now` for the Provenance.
 * @returns The transaction to write back, the Assessment, and the notes.
 * @throws OutcomeError (400, with the OperationOutcome in `outcome`) when the input is not a usable Bundle.
 */
export function assessBundle(bundle: unknown, options: AssessOptions = {}): AssessResult {
  const result = runPipeline(bundle, options.now === undefined ? {} : { now: options.now });
  return { transaction: result.transaction, assessment: toPublicAssessment(result.assessment), notes: result.notes };
}
