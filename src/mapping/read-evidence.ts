/**
 * Supporting-evidence Observations -> lab values: ctDNA (valueQuantity %, or detected / not detected),
 * ECOG (integer, quantity or LOINC answer), tumour markers (quantity).
 */
import type { Observation, Quantity } from '@medplum/fhirtypes';
import { SYSTEM } from '../codes.ts';
import type { DataQualityIssue, LabValue } from '../domain/types.ts';
import { datePart } from '../fhir-model/dates.ts';
import { codings, refOf } from './fhir-helpers.ts';

/** SNOMED detected / not detected, and common text. */
const DETECTED = new Set(['260373001', '10828004', 'detected', 'positive']);
const NOT_DETECTED = new Set(['260415000', '260385009', 'not detected', 'undetected', 'negative']);

/** LOINC answer codes for ECOG grades 0-5 (LL529-9). */
const ECOG_ANSWERS: Record<string, number> = {
  'LA9622-7': 0,
  'LA9623-5': 1,
  'LA9624-3': 2,
  'LA9625-0': 3,
  'LA9626-8': 4,
  'LA9627-6': 5,
};

function base(obs: Observation, issues: DataQualityIssue[]): Pick<LabValue, 'date' | 'source'> | undefined {
  const date = datePart(obs.effectiveDateTime ?? obs.effectivePeriod?.start ?? obs.issued);
  if (!date) {
    issues.push({
      code: 'observation-without-date',
      text: 'An Observation has no effective date and was not used.',
      source: refOf(obs),
    });
    return undefined;
  }
  return { date, source: refOf(obs) };
}

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** A Quantity's unit for conversion: its UCUM code (system UCUM or none given), else its unit text. */
function unitOf(q: Quantity): string | undefined {
  const ucumCode = typeof q.code === 'string' && (q.system === undefined || q.system === SYSTEM.ucum) ? q.code : '';
  const unit = ucumCode.trim() || (typeof q.unit === 'string' ? q.unit.trim() : '');
  return unit || undefined;
}

export function readCtdna(obs: Observation, issues: DataQualityIssue[]): LabValue | undefined {
  const b = base(obs, issues);
  if (!b) return undefined;
  if (finite(obs.valueQuantity?.value))
    return { ...b, value: obs.valueQuantity.value, unit: unitOf(obs.valueQuantity) };
  if (typeof obs.valueBoolean === 'boolean') return { ...b, detected: obs.valueBoolean };
  const words = [
    ...codings(obs.valueCodeableConcept).flatMap((c) => [c.code, c.display]),
    obs.valueCodeableConcept?.text,
    obs.valueString,
  ]
    .filter((w): w is string => typeof w === 'string')
    .map((w) => w.trim().toLowerCase());
  if (words.some((w) => NOT_DETECTED.has(w))) return { ...b, detected: false };
  if (words.some((w) => DETECTED.has(w))) return { ...b, detected: true };
  issues.push({
    code: 'ctdna-unreadable',
    text: 'A ctDNA result has no usable value (a % quantity, or detected / not detected).',
    source: b.source,
  });
  return undefined;
}

export function readEcog(obs: Observation, issues: DataQualityIssue[]): LabValue | undefined {
  const b = base(obs, issues);
  if (!b) return undefined;
  const fromAnswer = codings(obs.valueCodeableConcept)
    .map((c) => (c.system === SYSTEM.loinc && c.code ? ECOG_ANSWERS[c.code] : undefined))
    .find((v) => v !== undefined);
  const value = obs.valueInteger ?? obs.valueQuantity?.value ?? fromAnswer;
  if (finite(value) && Number.isInteger(value) && value >= 0 && value <= 5) return { ...b, value };
  issues.push({
    code: 'ecog-unreadable',
    text: 'An ECOG performance status has no grade 0-5 and was not used.',
    source: b.source,
  });
  return undefined;
}

export function readMarker(obs: Observation, issues: DataQualityIssue[]): LabValue | undefined {
  const b = base(obs, issues);
  if (!b) return undefined;
  if (finite(obs.valueQuantity?.value))
    return { ...b, value: obs.valueQuantity.value, unit: unitOf(obs.valueQuantity) };
  issues.push({
    code: 'marker-unreadable',
    text: 'A tumour-marker result has no numeric value and was not used.',
    source: b.source,
  });
  return undefined;
}
