/**
 * Patients for the service benchmarks, made from the sample transactions (samples/transactions): each copy has
 * every id of the case's patient rewritten, so any number of distinct patients can be loaded into one server.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Cases whose assessment writes a Flag (hyperprogression; confirmed progression). */
export const FLAG_CASES = ['hyperprogression', 'confirmed-progression'] as const;
export type FlagCase = (typeof FLAG_CASES)[number];

export interface PatientCase {
  patientId: string;
  /** A FHIR transaction (JSON text) with the patient and all of its data. */
  body: string;
}

const SAMPLES = fileURLToPath(new URL('../samples/transactions/', import.meta.url));
const templates = new Map<string, string>();
const template = (name: string): string => {
  let text = templates.get(name);
  if (text === undefined) {
    text = readFileSync(join(SAMPLES, `${name}.transaction.json`), 'utf8');
    templates.set(name, text);
  }
  return text;
};

/** The case's transaction with every id (and so every reference) of the patient rewritten to `${case}-${tag}`. */
export function transactionFor(name: FlagCase, tag: string): PatientCase {
  const patientId = `${name}-${tag}`;
  // Ids and references look like `"<case>"`, `"Patient/<case>"`, `"<case>-L1-t0"`, `"BodyStructure/<case>-L1"`.
  const body = template(name).replace(new RegExp(`(["/])${name}(["-])`, 'g'), `$1${patientId}$2`);
  return { patientId, body };
}

/** `n` patients alternating between the Flag cases, tagged `${tag}0`, `${tag}1`, ... */
export const casesFor = (n: number, tag: string): PatientCase[] =>
  Array.from({ length: n }, (_, i) => transactionFor(FLAG_CASES[i % FLAG_CASES.length] as FlagCase, `${tag}${i}`));

/** The first `Patient/<id>` a JSON text refers to (a subject, a batch entry's url). */
export const patientOf = (text: string): string | undefined =>
  /"(?:reference|url)":"Patient\/([A-Za-z0-9\-.]+)"/.exec(text)?.[1];
