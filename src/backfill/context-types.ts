/**
 * The resource types a backfill exports (`_type`): exactly what the worker reads of a patient
 * (fhir/read-patient-context.ts), the searched types and the ones they `_include` (Medication), so an assessment
 * from the export sees what an assessment from the server would.
 * https://hl7.org/fhir/uv/bulkdata/export.html#query-parameters
 */
import { contextRequestUrls } from '../fhir/read-patient-context.ts';

const INCLUDE = /_include=[A-Za-z]+:([a-z]+)/g;

/**
 * @returns The types, in the order the worker reads them, each once.
 */
export function contextResourceTypes(): string[] {
  const types: string[] = [];
  for (const url of contextRequestUrls('x')) {
    types.push((url.split(/[/?]/)[0] as string).trim());
    for (const m of url.matchAll(INCLUDE)) {
      const param = m[1] as string;
      types.push(param.charAt(0).toUpperCase() + param.slice(1));
    }
  }
  return [...new Set(types)];
}
