/**
 * Which outputs the adapter renders for a server (contract section 2, "Where a server cannot take an output"): the
 * one place this type lives. The writer derives it from the server's CapabilityStatement; `assess` and the tests use
 * the full-server default.
 */

/** Output types rendered for one server. */
export interface RenderedOutputs {
  /** The chart Flag (profile progression-flag). */
  flag: boolean;
  /** The per-timepoint DiagnosticReport (profile response-assessment-report). */
  diagnosticReport: boolean;
  /** The per-timepoint DocumentReference (profile report-document): the report where DiagnosticReport is not writable. */
  documentReference: boolean;
  /** The Provenance of each write. */
  provenance: boolean;
  /**
   * The timepoint Observation and the mCODE CancerDiseaseStatus Observation (both need Observation create); true when
   * not given.
   */
  observation?: boolean;
}

/** A full FHIR server: Flag, DiagnosticReport, Provenance and the Observations; no DocumentReference (the report is the DiagnosticReport). */
export const FULL_SERVER_OUTPUTS: Readonly<Required<RenderedOutputs>> = Object.freeze({
  flag: true,
  diagnosticReport: true,
  documentReference: false,
  provenance: true,
  observation: true,
});

/** Whether a report (and so its text and chart) is rendered: as a DiagnosticReport, or a DocumentReference instead. */
export function rendersReport(outputs: Pick<RenderedOutputs, 'diagnosticReport' | 'documentReference'>): boolean {
  return outputs.diagnosticReport || outputs.documentReference;
}

/**
 * The outputs for a server that can create the given resource types: a DocumentReference only where a
 * DiagnosticReport cannot be created.
 * @param canCreate - Whether the server lets the adapter create a resource of this type.
 * @returns The outputs to render.
 */
export function outputsFor(canCreate: (resourceType: string) => boolean): Required<RenderedOutputs> {
  const diagnosticReport = canCreate('DiagnosticReport');
  return {
    flag: canCreate('Flag'),
    diagnosticReport,
    documentReference: !diagnosticReport && canCreate('DocumentReference'),
    provenance: canCreate('Provenance'),
    observation: canCreate('Observation'),
  };
}
