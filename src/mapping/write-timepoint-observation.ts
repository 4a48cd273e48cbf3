/**
 * The timepoint response Observation (profile timepoint-response): the iRECIST response with the sum of
 * diameters, changes from baseline and nadir, new-lesion count and sum, and the per-category responses
 * (DICOM CID 6144 codes where they exist, beside our own category codes).
 */
import type { CodeableConcept, Observation, ObservationComponent } from '@medplum/fhirtypes';
import {
  categoryResponseCode,
  DICOM_NON_TARGET_RESPONSE,
  DICOM_TARGET_RESPONSE,
  IRECIST_SYSTEM,
  OUTPUT,
  PROFILE,
  SYSTEM,
} from '../codes.ts';
import type { TimepointAssessment } from '../domain/assess.ts';
import type { Tenths } from '../domain/types.ts';
import { CATEGORY_DISPLAY, nonTargetCategory, RESPONSE_DISPLAY, STATUS_DISPLAY } from './displays.ts';
import { ids } from './identifiers.ts';

const irecist = (code: string, display?: string): CodeableConcept => ({
  coding: [{ system: IRECIST_SYSTEM, code, ...(display ? { display } : {}) }],
});
const mm = (t: Tenths) => ({ value: t / 10, unit: 'mm', system: SYSTEM.ucum, code: 'mm' });
const percent = (v: number) => ({ value: v, unit: '%', system: SYSTEM.ucum, code: '%' });

function categoryConcept(response: string, dicom: Record<string, string>): CodeableConcept {
  const coding = [
    { system: IRECIST_SYSTEM, code: categoryResponseCode(response as never), display: CATEGORY_DISPLAY[response] },
  ];
  const d = dicom[response];
  return { coding: d ? [{ system: SYSTEM.dicom, code: d }, ...coding] : coding, text: CATEGORY_DISPLAY[response] };
}

export function timepointObservation(
  tp: TimepointAssessment,
  patientRef: string,
  patientId: string,
  derivedFrom: string[],
): Observation {
  const component: ObservationComponent[] = [];
  const add = (code: string, value: Partial<ObservationComponent>) => component.push({ code: irecist(code), ...value });
  if (tp.target.sod !== undefined) add(OUTPUT.sumOfDiameters, { valueQuantity: mm(tp.target.sod) });
  if (tp.changeFromBaselinePct !== undefined)
    add(OUTPUT.changeFromBaseline, { valueQuantity: percent(tp.changeFromBaselinePct) });
  if (tp.changeFromNadirPct !== undefined)
    add(OUTPUT.changeFromNadir, { valueQuantity: percent(tp.changeFromNadirPct) });
  add(OUTPUT.newLesionCount, { valueInteger: tp.newLesions.count });
  const { nltSum } = tp.newLesions;
  if (nltSum !== undefined && nltSum > 0) add(OUTPUT.newLesionTargetSum, { valueQuantity: mm(nltSum) });
  add(OUTPUT.targetResponse, { valueCodeableConcept: categoryConcept(tp.target.response, DICOM_TARGET_RESPONSE) });
  add(OUTPUT.nonTargetResponse, {
    valueCodeableConcept: categoryConcept(nonTargetCategory(tp.nonTarget), DICOM_NON_TARGET_RESPONSE),
  });
  add(OUTPUT.newLesionResponse, {
    valueCodeableConcept: categoryConcept(tp.newLesions.present.length > 0 ? 'PD' : 'none', {}),
  });
  add(OUTPUT.patientStatus, { valueCodeableConcept: irecist(tp.status, STATUS_DISPLAY[tp.status]) });
  const tgr = tp.hyperprogression?.tgrExperimental;
  if (tgr !== undefined && Number.isFinite(tgr)) {
    add(OUTPUT.tumorGrowthRate, {
      valueQuantity: { value: Math.round(tgr * 10) / 10, unit: '%/mo', system: SYSTEM.ucum, code: '%/mo' },
    });
  }
  return {
    resourceType: 'Observation',
    meta: { profile: [PROFILE.timepointResponse] },
    identifier: [ids.timepoint(patientId, tp.date)],
    status: 'final',
    category: [{ coding: [{ system: SYSTEM.observationCategory, code: 'imaging', display: 'Imaging' }] }],
    code: { ...irecist(OUTPUT.timepointResponse, 'iRECIST timepoint response'), text: 'iRECIST timepoint response' },
    subject: { reference: patientRef },
    effectiveDateTime: tp.date,
    valueCodeableConcept: {
      ...irecist(tp.response, RESPONSE_DISPLAY[tp.response]),
      text: RESPONSE_DISPLAY[tp.response],
    },
    component,
    ...(derivedFrom.length > 0 ? { derivedFrom: derivedFrom.map((reference) => ({ reference })) } : {}),
  };
}
