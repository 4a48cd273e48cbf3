/**
 * Patient data that must never reach a log line: the end-to-end tests put it on every Patient they load
 * (test/e2e/cases.ts), and test/log-scan fails if any of it turns up in what the suite logged.
 */
import type { Patient } from '@medplum/fhirtypes';

export const SENTINEL_PATIENT = {
  name: [{ use: 'official', family: 'Quillfeather', given: ['Ottoline', 'Maribel'] }],
  birthDate: '1938-09-17',
  identifier: [{ system: 'urn:oid:2.16.840.1.113883.19.5.99', value: 'MRN-4471-QX' }],
  telecom: [{ system: 'phone', value: '+44 20 7946 0958' }],
  address: [{ line: ['12 Wrenfold Close'], city: 'Little Hambleton', postalCode: 'ZX9 4QT' }],
} satisfies Partial<Patient>;

/** The values to look for (each distinctive enough not to occur in a log line by chance). */
export const SENTINEL_VALUES: readonly string[] = [
  'Quillfeather',
  'Ottoline',
  'Maribel',
  '1938-09-17',
  'MRN-4471-QX',
  '7946 0958',
  'Wrenfold',
  'Little Hambleton',
  'ZX9 4QT',
];

/** The Patient with the sentinel data added (its own name, birth date, identifiers… replaced). */
export function withSentinelData(patient: Patient): Patient {
  return { ...patient, ...structuredClone(SENTINEL_PATIENT) };
}
