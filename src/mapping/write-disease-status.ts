/**
 * The mCODE CancerDiseaseStatus Observation per assessed timepoint (contract section 2; profile disease-status, built
 * on mCODE STU3/STU4 CancerDiseaseStatus: https://hl7.org/fhir/us/mcode/StructureDefinition-mcode-cancer-disease-status.html).
 * Any mCODE consumer reads it, and where a server takes no Flag it is the chart signal.
 * mCODE allows no `component`, so the iRECIST response and patient status ride in two extensions of ours.
 */
import type { CodeableConcept, Coding, Observation } from '@medplum/fhirtypes';
import { EXTENSION, IRECIST_SYSTEM, MCODE, PROFILE, SYSTEM } from '../codes.ts';
import type { TimepointAssessment } from '../domain/assess.ts';
import type { PatientStatus, TimepointResponse } from '../domain/types.ts';
import { computedResultStatement } from './decision-support-source.ts';
import { RESPONSE_DISPLAY, STATUS_DISPLAY } from './displays.ts';
import { ids } from './identifiers.ts';

type Trend = 'improved' | 'stable' | 'worsened' | 'undetermined';

const BY_RESPONSE: Record<TimepointResponse, Trend> = {
  iCR: 'improved',
  iPR: 'improved',
  iSD: 'stable',
  iNN: 'stable',
  iUPD: 'worsened',
  iCPD: 'worsened',
  NE: 'undetermined',
};

/**
 * The disease-status trend of a timepoint (ConditionStatusTrendVS). By the timepoint response: iCR / iPR improved,
 * iSD / iNN stable, iUPD / iCPD worsened, NE undetermined; except that a confirmed progression or hyperprogression
 * (which iRECIST keeps as the status until a reset) is worsened whatever this scan's response, since the disease has
 * progressed and no later scan has reset it.
 */
export function diseaseStatusTrend(response: TimepointResponse, status: PatientStatus): Trend {
  if (status === 'confirmed-progression' || status === 'hyperprogression') return 'worsened';
  return BY_RESPONSE[response];
}

const irecist = (code: string, display: string): CodeableConcept => ({
  coding: [{ system: IRECIST_SYSTEM, code, display }],
  text: display,
});

export interface DiseaseStatusInputs {
  patientRef: string;
  patientId: string;
  /** "BodyStructure/id" of the lesions assessed at this timepoint that the input had. */
  focus: string[];
  /** The timepoint Observation, the scan's ImagingStudies, the DocumentReference where there is one. */
  derivedFrom: string[];
  /** The report's next-step sentence for this timepoint (what to do, with dates). */
  nextStep: string;
}

/**
 * The words a chart shows for the value: the trend alone would read "worsened" for an unconfirmed progression that may
 * be pseudoprogression, which where a server takes no Flag is all a clinician sees. So the iRECIST response and the
 * patient status are said beside it.
 */
function valueText(trend: Coding, tp: TimepointAssessment): string {
  return `${trend.display}: ${RESPONSE_DISPLAY[tp.response]} on imaging; status ${STATUS_DISPLAY[tp.status].toLowerCase()}`;
}

/** The CancerDiseaseStatus Observation of one timepoint. */
export function diseaseStatusObservation(tp: TimepointAssessment, inputs: DiseaseStatusInputs): Observation {
  const trend: Coding = { ...MCODE[diseaseStatusTrend(tp.response, tp.status)] };
  return {
    resourceType: 'Observation',
    meta: { profile: [PROFILE.diseaseStatus, MCODE.cancerDiseaseStatusProfile] },
    extension: [
      { url: EXTENSION.mcodeEvidenceType, valueCodeableConcept: { coding: [{ ...MCODE.imaging }] } },
      { url: EXTENSION.irecistResponse, valueCodeableConcept: irecist(tp.response, RESPONSE_DISPLAY[tp.response]) },
      { url: EXTENSION.irecistPatientStatus, valueCodeableConcept: irecist(tp.status, STATUS_DISPLAY[tp.status]) },
    ],
    identifier: [ids.diseaseStatus(inputs.patientId, tp.date)],
    status: 'final',
    category: [{ coding: [{ system: SYSTEM.observationCategory, code: 'imaging', display: 'Imaging' }] }],
    code: { coding: [{ ...MCODE.code }], text: 'Cancer disease status' },
    subject: { reference: inputs.patientRef },
    ...(inputs.focus.length > 0 ? { focus: inputs.focus.map((reference) => ({ reference })) } : {}),
    effectiveDateTime: tp.date,
    valueCodeableConcept: { coding: [trend], text: valueText(trend, tp) },
    note: [{ text: `${inputs.nextStep} ${computedResultStatement()}` }],
    ...(inputs.derivedFrom.length > 0 ? { derivedFrom: inputs.derivedFrom.map((reference) => ({ reference })) } : {}),
  };
}
