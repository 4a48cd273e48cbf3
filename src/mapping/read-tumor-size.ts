/**
 * Observation LOINC 21889-1 "Size Tumor" (mCODE TumorSize) -> a lesion measurement (contract section 1):
 * component LOINC 33728-7 = longest diameter, component SNOMED 103340004 = short axis; mm or cm.
 * A size given as "< x" (x <= 5 mm) is "too small to measure" (RECIST 1.1: counts 5 mm).
 */
import type { Observation } from '@medplum/fhirtypes';
import { EXTENSION, INPUT, LESION_ROLES } from '../codes.ts';
import type { DataQualityIssue, IsoDate, LesionRole, Tenths } from '../domain/types.ts';
import { datePart } from '../fhir-model/dates.ts';
import { asArray, codings, hasCoding, isObject, refOf } from './fhir-helpers.ts';
import { readLength } from './read-length.ts';

export interface TumorSizeReading {
  longestDiameter?: Tenths;
  shortAxis?: Tenths;
  tooSmallToMeasure?: boolean;
  role?: LesionRole;
  date?: IsoDate;
}

const TOO_SMALL_MAX = 50;

export function readRole(obs: Observation, issues: DataQualityIssue[]): LesionRole | undefined {
  const ext = asArray(obs.extension).find((e) => isObject(e) && e.url === EXTENSION.lesionRole);
  if (!ext) return undefined;
  const code = ext.valueCode;
  if ((LESION_ROLES as readonly string[]).includes(String(code))) return code as LesionRole;
  issues.push({
    code: 'unknown-lesion-role',
    text: 'A lesion-role extension has an unknown code; the role was inferred instead.',
    source: refOf(obs),
  });
  return undefined;
}

export function readTumorSize(obs: Observation, issues: DataQualityIssue[]): TumorSizeReading | undefined {
  const reading: TumorSizeReading = {
    role: readRole(obs, issues),
    date: datePart(obs.effectiveDateTime ?? obs.effectivePeriod?.start ?? obs.issued),
  };
  const source = refOf(obs);
  const parts: { which: 'longestDiameter' | 'shortAxis'; quantity: Observation['valueQuantity'] }[] = [];
  for (const c of asArray(obs.component).filter(isObject)) {
    if (hasCoding(c.code, INPUT.longestDiameter.system, INPUT.longestDiameter.code))
      parts.push({ which: 'longestDiameter', quantity: c.valueQuantity });
    else if (hasCoding(c.code, INPUT.shortAxis.system, INPUT.shortAxis.code))
      parts.push({ which: 'shortAxis', quantity: c.valueQuantity });
    else {
      const code = codings(c.code)[0];
      issues.push({
        code: 'unknown-component',
        text: `A tumour-size component with code ${code?.system ?? '?'}|${code?.code ?? '?'} was not used.`,
        source,
      });
    }
  }
  // A size given directly as the Observation value is read as the longest diameter.
  if (parts.length === 0 && obs.valueQuantity) parts.push({ which: 'longestDiameter', quantity: obs.valueQuantity });
  for (const { which, quantity } of parts) {
    const length = readLength(quantity);
    if (!length.ok) {
      issues.push({
        code: `measurement-${length.problem}`,
        text: `A ${which === 'shortAxis' ? 'short-axis' : 'longest-diameter'} measurement was not used: ${length.text}.`,
        source,
      });
      continue;
    }
    if (length.lessThan) {
      if (length.tenths <= TOO_SMALL_MAX) reading.tooSmallToMeasure = true;
      else {
        issues.push({
          code: 'measurement-inexact',
          text: 'A measurement given as "less than" a size above 5 mm was not used.',
          source,
        });
        continue;
      }
    }
    reading[which] = length.tenths;
  }
  if (reading.longestDiameter === undefined && reading.shortAxis === undefined && !reading.tooSmallToMeasure) {
    if (parts.length === 0)
      issues.push({
        code: 'measurement-empty',
        text: 'A tumour-size Observation carries no longest diameter or short axis.',
        source,
      });
    return undefined;
  }
  return reading;
}
