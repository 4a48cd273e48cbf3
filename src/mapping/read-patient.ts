/** Patient -> species: SNOMED 448771007 (dog) in the patient-animal extension selects the canine profile. */
import type { Patient } from '@medplum/fhirtypes';
import { EXTENSION, INPUT } from '../codes.ts';
import type { Species } from '../domain/types.ts';
import { asArray, hasCoding, isObject } from './fhir-helpers.ts';

export function readSpecies(patient: Patient | undefined): Species {
  const animal = asArray(patient?.extension).find((e) => isObject(e) && e.url === EXTENSION.patientAnimal);
  const species = asArray(animal?.extension).find((e) => isObject(e) && e.url === 'species');
  return hasCoding(species?.valueCodeableConcept, INPUT.dog.system, INPUT.dog.code) ? 'dog' : 'human';
}

/** Whether the patient is an animal of another species than dog (assessed with the human profile, reported). */
export function isOtherAnimal(patient: Patient | undefined): boolean {
  const animal = asArray(patient?.extension).some((e) => isObject(e) && e.url === EXTENSION.patientAnimal);
  return animal && readSpecies(patient) !== 'dog';
}
