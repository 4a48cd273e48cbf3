/** The per-scan DiagnosticReport (profile response-assessment-report; contract section 2). */
import type { Attachment, DiagnosticReport } from '@medplum/fhirtypes';
import { IRECIST_SYSTEM, OUTPUT, PROFILE, RADIOLOGY_CATEGORY } from '../codes.ts';
import type { TimepointAssessment } from '../domain/assess.ts';
import { RESPONSE_DISPLAY, STATUS_DISPLAY } from './displays.ts';
import { ids } from './identifiers.ts';

export function diagnosticReport(
  tp: TimepointAssessment,
  patientRef: string,
  patientId: string,
  observationFullUrl: string,
  conclusion: string,
  /** The rendered report (text/plain) and, on the most recent reports, the chart (image/svg+xml). */
  presentedForm: Attachment[],
): DiagnosticReport {
  return {
    resourceType: 'DiagnosticReport',
    meta: { profile: [PROFILE.report] },
    identifier: [ids.report(patientId, tp.date)],
    status: 'final',
    category: [{ coding: [{ ...RADIOLOGY_CATEGORY }] }],
    code: {
      coding: [{ system: IRECIST_SYSTEM, code: OUTPUT.timepointResponse, display: 'iRECIST timepoint response' }],
      text: 'iRECIST tumour response assessment',
    },
    subject: { reference: patientRef },
    effectiveDateTime: tp.date,
    ...(tp.scan.imagingStudies.length > 0
      ? { imagingStudy: tp.scan.imagingStudies.map((reference) => ({ reference })) }
      : {}),
    result: [{ reference: observationFullUrl }],
    conclusion,
    conclusionCode: [
      { coding: [{ system: IRECIST_SYSTEM, code: tp.response, display: RESPONSE_DISPLAY[tp.response] }] },
      { coding: [{ system: IRECIST_SYSTEM, code: tp.status, display: STATUS_DISPLAY[tp.status] }] },
    ],
    presentedForm,
  };
}
