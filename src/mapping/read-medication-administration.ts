/**
 * MedicationAdministration -> an immunotherapy dose (contract section 1). Counts when `completed` or
 * `in-progress`; date = effectiveDateTime or effectivePeriod.start; drug from medicationCodeableConcept or a
 * resolved medicationReference (contained, or a Medication in the same Bundle / fetched context).
 */
import type { CodeableConcept, Medication, MedicationAdministration } from '@medplum/fhirtypes';
import type { DataQualityIssue, Dose } from '../domain/types.ts';
import { datePart } from '../fhir-model/dates.ts';
import { asArray, isObject, normaliseReference, refOf } from './fhir-helpers.ts';
import type { ImmunotherapyCatalogue } from './immunotherapy-catalogue.ts';

const COUNTED = new Set(['completed', 'in-progress']);

export type DoseReading =
  | { dose: Dose }
  | { ignored: 'status' | 'not-immunotherapy' | 'no-date' | 'unresolved-medication' };

export function readMedicationAdministration(
  ma: MedicationAdministration,
  catalogue: ImmunotherapyCatalogue,
  medications: Map<string, Medication>,
  issues: DataQualityIssue[],
): DoseReading {
  if (!COUNTED.has(String(ma.status))) return { ignored: 'status' };
  const source = refOf(ma);
  let concept: CodeableConcept | undefined = ma.medicationCodeableConcept;
  if (!concept && ma.medicationReference) {
    const ref = normaliseReference(ma.medicationReference);
    const contained = ref?.startsWith('#')
      ? asArray(ma.contained).find((r) => isObject(r) && r.resourceType === 'Medication' && `#${r.id}` === ref)
      : undefined;
    const med = (contained as Medication | undefined) ?? (ref ? medications.get(ref) : undefined);
    concept = med?.code ?? (ma.medicationReference.display ? { text: ma.medicationReference.display } : undefined);
    if (!concept) {
      issues.push({
        code: 'unresolved-medication',
        text: 'A MedicationAdministration names a Medication that could not be found; it was not counted.',
        source,
      });
      return { ignored: 'unresolved-medication' };
    }
  }
  const drug = catalogue.match(concept);
  if (!drug) return { ignored: 'not-immunotherapy' };
  const date = datePart(ma.effectiveDateTime ?? ma.effectivePeriod?.start);
  if (!date) {
    issues.push({
      code: 'dose-without-date',
      text: 'An immunotherapy administration has no effective date and was not counted.',
      source,
    });
    return { ignored: 'no-date' };
  }
  return { dose: { date, drug, source } };
}
