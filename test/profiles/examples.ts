/**
 * Hand-written resources that conform to our profiles; each call returns a fresh copy that a test may break.
 */
import type { DiagnosticReport, DocumentReference, Flag, Observation } from '@medplum/fhirtypes';
import {
  categoryResponseCode,
  EXTENSION,
  IDENTIFIER_SYSTEM,
  INPUT,
  IRECIST_SYSTEM,
  MCODE,
  OUTPUT,
  PROFILE,
  RADIOLOGY_CATEGORY,
  REPORT_DOCUMENT,
  SYSTEM,
} from '../../src/codes.ts';

const irecist = (code: string) => ({ coding: [{ system: IRECIST_SYSTEM, code }] });

export function reportExample(): DiagnosticReport {
  return {
    resourceType: 'DiagnosticReport',
    meta: { profile: [PROFILE.report] },
    identifier: [{ system: IDENTIFIER_SYSTEM, value: 'report-p1-2024-03-01' }],
    status: 'final',
    category: [{ coding: [{ ...RADIOLOGY_CATEGORY }] }],
    code: { ...irecist(OUTPUT.timepointResponse), text: 'iRECIST response assessment' },
    subject: { reference: 'Patient/p1' },
    effectiveDateTime: '2024-03-01',
    imagingStudy: [{ reference: 'ImagingStudy/scan-2' }],
    result: [{ reference: 'Observation/tp-2024-03-01' }],
    conclusion:
      'Unconfirmed progression (iUPD) on 2024-03-01. Repeat imaging between 2024-03-29 and 2024-04-26 to confirm.',
    conclusionCode: [irecist('iUPD'), irecist('possible-pseudoprogression')],
  };
}

export function timepointExample(): Observation {
  return {
    resourceType: 'Observation',
    meta: { profile: [PROFILE.timepointResponse] },
    identifier: [{ system: IDENTIFIER_SYSTEM, value: 'timepoint-p1-2024-03-01' }],
    status: 'final',
    code: irecist(OUTPUT.timepointResponse),
    subject: { reference: 'Patient/p1' },
    effectiveDateTime: '2024-03-01',
    valueCodeableConcept: irecist('iUPD'),
    derivedFrom: [{ reference: 'Observation/size-1' }, { reference: 'ImagingStudy/scan-2' }],
    component: [
      {
        code: irecist(OUTPUT.sumOfDiameters),
        valueQuantity: { value: 62, unit: 'mm', system: SYSTEM.ucum, code: 'mm' },
      },
      {
        code: irecist(OUTPUT.targetResponse),
        valueCodeableConcept: {
          coding: [
            { system: IRECIST_SYSTEM, code: categoryResponseCode('PD') },
            { system: SYSTEM.dicom, code: '112042' },
          ],
        },
      },
      { code: irecist(OUTPUT.newLesionCount), valueInteger: 1 },
    ],
  };
}

export function flagExample(): Flag {
  return {
    resourceType: 'Flag',
    meta: { profile: [PROFILE.flag] },
    extension: [
      { url: EXTENSION.flagDetail, valueReference: { reference: 'DiagnosticReport/report-2024-03-01' } },
      {
        url: EXTENSION.flagPriority,
        valueCodeableConcept: { coding: [{ system: SYSTEM.flagPriority, code: 'PM', display: 'Medium priority' }] },
      },
    ],
    identifier: [{ system: IDENTIFIER_SYSTEM, value: 'flag-p1' }],
    status: 'active',
    category: [{ coding: [{ system: SYSTEM.flagCategory, code: 'clinical' }] }],
    code: { ...irecist('possible-pseudoprogression'), text: 'Possible pseudoprogression' },
    subject: { reference: 'Patient/p1' },
    period: { start: '2024-03-01' },
  };
}

/** A tumour size Observation (mCODE style) carrying the lesion-role extension. */
export function lesionRoleExample(): Observation {
  return {
    resourceType: 'Observation',
    extension: [{ url: EXTENSION.lesionRole, valueCode: 'target' }],
    status: 'final',
    code: { coding: [{ system: SYSTEM.loinc, code: INPUT.tumorSize.code }] },
    subject: { reference: 'Patient/p1' },
    focus: [{ reference: 'BodyStructure/lesion-1' }],
    effectiveDateTime: '2024-01-05',
    component: [
      {
        code: { coding: [{ system: SYSTEM.loinc, code: INPUT.longestDiameter.code }] },
        valueQuantity: { value: 21, unit: 'mm', system: SYSTEM.ucum, code: 'mm' },
      },
    ],
  };
}

/** An mCODE CancerDiseaseStatus Observation as the adapter writes it (profile disease-status). */
export function diseaseStatusExample(): Observation {
  return {
    resourceType: 'Observation',
    meta: { profile: [PROFILE.diseaseStatus, MCODE.cancerDiseaseStatusProfile] },
    extension: [
      { url: EXTENSION.mcodeEvidenceType, valueCodeableConcept: { coding: [{ ...MCODE.imaging }] } },
      { url: EXTENSION.irecistResponse, valueCodeableConcept: irecist('iUPD') },
      { url: EXTENSION.irecistPatientStatus, valueCodeableConcept: irecist('possible-pseudoprogression') },
    ],
    identifier: [{ system: IDENTIFIER_SYSTEM, value: 'p1/disease-status/2024-03-01' }],
    status: 'final',
    code: { coding: [{ ...MCODE.code }] },
    subject: { reference: 'Patient/p1' },
    focus: [{ reference: 'BodyStructure/lesion-1' }],
    effectiveDateTime: '2024-03-01',
    valueCodeableConcept: { coding: [{ ...MCODE.worsened }] },
    derivedFrom: [{ reference: 'Observation/tp-2024-03-01' }, { reference: 'ImagingStudy/scan-2' }],
  };
}

/** The report as a DocumentReference (profile report-document). */
export function reportDocumentExample(): DocumentReference {
  return {
    resourceType: 'DocumentReference',
    meta: { profile: [PROFILE.reportDocument] },
    identifier: [{ system: IDENTIFIER_SYSTEM, value: 'p1/report-document/2024-03-01' }],
    status: 'current',
    docStatus: 'final',
    type: { coding: [{ ...REPORT_DOCUMENT.type }] },
    category: [{ coding: [{ ...REPORT_DOCUMENT.category }] }],
    subject: { reference: 'Patient/p1' },
    date: '2024-03-01T00:00:00Z',
    content: [
      { attachment: { contentType: 'text/plain; charset=utf-8', data: Buffer.from('Report').toString('base64') } },
      { attachment: { contentType: 'image/svg+xml', data: Buffer.from('<svg/>').toString('base64') } },
    ],
    context: { period: { start: '2024-03-01', end: '2024-03-01' }, related: [{ reference: 'ImagingStudy/scan-2' }] },
  };
}
