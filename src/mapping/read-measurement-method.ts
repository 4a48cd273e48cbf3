/**
 * Whether a lesion Observation's size counts (rules.md, "RECIST 1.1 per timepoint"): only imaging and clinical
 * examination do (no method, CT, MRI, PET, PET/CT, ultrasound, radiography, physical examination, calipers). A size
 * measured on a specimen (`Observation.specimen`, or a pathology method) is listed as not used, as is one whose
 * method is not recognised. Codes first (codes.ts), then the method's text or display.
 */
import type { Observation } from '@medplum/fhirtypes';
import { COUNTED_METHODS, SPECIMEN_METHODS } from '../codes.ts';
import type { DataQualityIssue } from '../domain/types.ts';
import { codings, isObject, refOf } from './fhir-helpers.ts';

const SPECIMEN_WORDS = /patholog|gross|specimen|histolog|microscop|biops|resect|surgical/i;
const COUNTED_WORDS =
  /\b(ct|cat|computed tomograph\w*|mri|mr|magnetic resonance|pet|pet\s*\/\s*ct|pet-ct|positron\w*|ultrasound|ultrasonograph\w*|sonograph\w*|echograph\w*|physical exam\w*|clinical exam\w*|examination|palpation|calip\w*|callip\w*|imaging|radiograph\w*|radiolog\w*|x-?ray)\b/i;

/** Undefined when the measurement counts; otherwise the issue saying why it was not used. */
export function readMeasurementMethod(obs: Observation): DataQualityIssue | undefined {
  const source = refOf(obs);
  if (isObject(obs.specimen)) {
    return {
      code: 'measurement-on-specimen',
      text: 'A lesion measurement was made on a specimen (Observation.specimen), not by imaging or clinical examination, and was not used.',
      source,
    };
  }
  if (!isObject(obs.method)) return undefined;
  const keys = codings(obs.method).map((c) => `${c.system}|${c.code}`);
  const words = [obs.method.text, ...codings(obs.method).map((c) => c.display)]
    .filter((t): t is string => typeof t === 'string' && t.trim() !== '')
    .join('; ');
  const named = (words || keys.join(', ') || 'no code').slice(0, 80);
  const specimen = keys.find((k) => SPECIMEN_METHODS[k]);
  if (specimen || (!keys.some((k) => COUNTED_METHODS[k]) && SPECIMEN_WORDS.test(words))) {
    return {
      code: 'measurement-method-pathology',
      text: `A lesion measurement was made by pathology (${specimen ? SPECIMEN_METHODS[specimen] : named}), not by imaging or clinical examination, and was not used.`,
      source,
    };
  }
  if (keys.some((k) => COUNTED_METHODS[k]) || COUNTED_WORDS.test(words)) return undefined;
  return {
    code: 'measurement-method-unknown',
    text: `A lesion measurement's method (${named}) is not recognised as imaging or clinical examination; it was not used.`,
    source,
  };
}
