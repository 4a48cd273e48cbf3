/**
 * The per-timepoint DocumentReference (profile report-document; contract section 2, "Where a server cannot take an
 * output"): the report as a clinical note where a server cannot create a DiagnosticReport (Epic). LOINC 18748-4
 * Diagnostic imaging study, US Core category clinical-note, the rendered report (text/plain) and, on the most recent
 * reports, the chart (image/svg+xml), `context.related` the scan. Deterministic: same input, same bytes.
 * https://hl7.org/fhir/R4/documentreference.html
 */
import type { Attachment, DocumentReference } from '@medplum/fhirtypes';
import { PROFILE, REPORT_DOCUMENT } from '../codes.ts';
import type { TimepointAssessment } from '../domain/assess.ts';
import { RESPONSE_DISPLAY, STATUS_DISPLAY } from './displays.ts';
import { ids } from './identifiers.ts';

export interface ReportDocumentInputs {
  patientRef: string;
  patientId: string;
  /** The report's attachments: the text, then the chart where there is one. */
  attachments: Attachment[];
  /** The scan's ImagingStudies and the timepoint Observation where there is one. */
  related: string[];
}

/** The DocumentReference of one timepoint's report. */
export function reportDocument(tp: TimepointAssessment, inputs: ReportDocumentInputs): DocumentReference {
  return {
    resourceType: 'DocumentReference',
    meta: { profile: [PROFILE.reportDocument] },
    identifier: [ids.reportDocument(inputs.patientId, tp.date)],
    status: 'current',
    docStatus: 'final',
    type: { coding: [{ ...REPORT_DOCUMENT.type }], text: 'iRECIST tumour response assessment' },
    category: [{ coding: [{ ...REPORT_DOCUMENT.category }] }],
    subject: { reference: inputs.patientRef },
    // An instant is required; the scan's date keeps the bytes the same on every run (no clock).
    date: `${tp.date}T00:00:00Z`,
    description: `iRECIST assessment ${tp.date}: ${RESPONSE_DISPLAY[tp.response]}; ${STATUS_DISPLAY[tp.status]}`,
    content: inputs.attachments.map((attachment) => ({ attachment })),
    context: {
      period: { start: tp.date, end: tp.date },
      ...(inputs.related.length > 0 ? { related: inputs.related.map((reference) => ({ reference })) } : {}),
    },
  };
}
