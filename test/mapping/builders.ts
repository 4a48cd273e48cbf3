/**
 * Small builders for hand-made input resources (contract section 1), so each test states only what matters.
 * Every builder returns plain FHIR R4 JSON about Patient/p1 unless told otherwise.
 */
import type {
  BodyStructure,
  Bundle,
  BundleEntry,
  CodeableConcept,
  ImagingStudy,
  Medication,
  MedicationAdministration,
  Observation,
  Patient,
  Quantity,
  Resource,
} from '@medplum/fhirtypes';
import { EXTENSION, INPUT, IRECIST_SYSTEM, NON_TARGET_VALUE, SYSTEM } from '../../src/codes.ts';
import { readBundle } from '../../src/mapping/read-bundle.ts';
import { type MappedPatient, mapToDomain } from '../../src/mapping/to-domain.ts';
import { defaultCatalogue } from '../../src/pipeline/default-catalogue.ts';

export const PATIENT_ID = 'p1';
export const PATIENT_REF = `Patient/${PATIENT_ID}`;

export const mm = (value: unknown): Quantity => ({
  value: value as number,
  unit: 'mm',
  system: SYSTEM.ucum,
  code: 'mm',
});
export const cm = (value: number): Quantity => ({ value, unit: 'cm', system: SYSTEM.ucum, code: 'cm' });

export function patient(options: { id?: string; species?: { code: string; display?: string } } = {}): Patient {
  return {
    resourceType: 'Patient',
    id: options.id ?? PATIENT_ID,
    ...(options.species
      ? {
          extension: [
            {
              url: EXTENSION.patientAnimal,
              extension: [
                { url: 'species', valueCodeableConcept: { coding: [{ system: SYSTEM.snomed, ...options.species }] } },
              ],
            },
          ],
        }
      : {}),
  };
}

export const DOG = { code: INPUT.dog.code, display: 'Canis lupus familiaris' };

export function bodyStructure(
  id: string,
  location: CodeableConcept = { coding: [{ system: SYSTEM.snomed, code: '39607008', display: 'Lung structure' }] },
  options: { identifier?: string } = {},
): BodyStructure {
  return {
    resourceType: 'BodyStructure',
    id,
    ...(options.identifier ? { identifier: [{ system: 'http://example.org/lesion', value: options.identifier }] } : {}),
    location,
    patient: { reference: PATIENT_REF },
  };
}

export function imagingStudy(id: string, started: string, status: ImagingStudy['status'] = 'available'): ImagingStudy {
  return { resourceType: 'ImagingStudy', id, status, subject: { reference: PATIENT_REF }, started };
}

export interface TumorSizeOptions {
  lesion: string;
  date: string;
  study?: string;
  ld?: Quantity;
  sa?: Quantity;
  role?: string;
  status?: Observation['status'];
  versionId?: string;
  code?: CodeableConcept;
}

export function tumorSize(id: string, o: TumorSizeOptions): Observation {
  const component: Observation['component'] = [];
  if (o.ld) component.push({ code: { coding: [{ ...INPUT.longestDiameter }] }, valueQuantity: o.ld });
  if (o.sa) component.push({ code: { coding: [{ ...INPUT.shortAxis }] }, valueQuantity: o.sa });
  return {
    resourceType: 'Observation',
    id,
    ...(o.versionId ? { meta: { versionId: o.versionId } } : {}),
    ...(o.role ? { extension: [{ url: EXTENSION.lesionRole, valueCode: o.role }] } : {}),
    status: o.status ?? 'final',
    code: o.code ?? { coding: [{ ...INPUT.tumorSize, display: 'Size Tumor' }] },
    subject: { reference: PATIENT_REF },
    effectiveDateTime: o.date,
    focus: [
      { reference: o.lesion.includes('/') || o.lesion.startsWith('urn:') ? o.lesion : `BodyStructure/${o.lesion}` },
    ],
    component,
    ...(o.study
      ? { derivedFrom: [{ reference: o.study.startsWith('urn:') ? o.study : `ImagingStudy/${o.study}` }] }
      : {}),
  };
}

export function nonTargetStatus(
  id: string,
  o: { lesion: string; date: string; study?: string; value: keyof typeof NON_TARGET_VALUE; role?: string },
): Observation {
  return {
    resourceType: 'Observation',
    id,
    ...(o.role ? { extension: [{ url: EXTENSION.lesionRole, valueCode: o.role }] } : {}),
    status: 'final',
    code: { coding: [{ ...INPUT.nonTargetStatus }] },
    subject: { reference: PATIENT_REF },
    effectiveDateTime: o.date,
    focus: [{ reference: `BodyStructure/${o.lesion}` }],
    valueCodeableConcept: { coding: [{ ...NON_TARGET_VALUE[o.value] }] },
    ...(o.study ? { derivedFrom: [{ reference: `ImagingStudy/${o.study}` }] } : {}),
  };
}

export const PEMBROLIZUMAB: CodeableConcept = {
  coding: [{ system: SYSTEM.rxnorm, code: '1547545', display: 'pembrolizumab' }],
};

export function medicationAdministration(
  id: string,
  date: string,
  drug: CodeableConcept | { reference: string; display?: string } = PEMBROLIZUMAB,
  options: { status?: MedicationAdministration['status']; contained?: Medication[]; period?: boolean } = {},
): MedicationAdministration {
  return {
    resourceType: 'MedicationAdministration',
    id,
    status: options.status ?? 'completed',
    ...(options.contained ? { contained: options.contained } : {}),
    ...('reference' in drug ? { medicationReference: drug } : { medicationCodeableConcept: drug as CodeableConcept }),
    subject: { reference: PATIENT_REF },
    ...(options.period ? { effectivePeriod: { start: date } } : { effectiveDateTime: date }),
  };
}

export function ctdna(id: string, date: string, value: number, unit = '%'): Observation {
  return {
    resourceType: 'Observation',
    id,
    status: 'final',
    code: { coding: [{ system: IRECIST_SYSTEM, code: INPUT.ctdnaTumorFraction.code }] },
    subject: { reference: PATIENT_REF },
    effectiveDateTime: date,
    valueQuantity: { value, unit, system: SYSTEM.ucum, code: unit },
  };
}

/** An ECOG performance status (LOINC 89247-1) as an integer grade. */
export function ecog(id: string, date: string, grade: number): Observation {
  return {
    resourceType: 'Observation',
    id,
    status: 'final',
    code: { coding: [{ ...INPUT.ecog }] },
    subject: { reference: PATIENT_REF },
    effectiveDateTime: date,
    valueInteger: grade,
  };
}

/** A tumour-marker (or LDH) result: `loinc` from codes.ts TUMOR_MARKERS; `quantity` as the lab sent it. */
export function marker(id: string, date: string, loinc: string, quantity: Quantity): Observation {
  return {
    resourceType: 'Observation',
    id,
    status: 'final',
    code: { coding: [{ system: SYSTEM.loinc, code: loinc }] },
    subject: { reference: PATIENT_REF },
    effectiveDateTime: date,
    valueQuantity: quantity,
  };
}

export function bundle(resources: Resource[], type: Bundle['type'] = 'collection'): Bundle {
  return {
    resourceType: 'Bundle',
    type,
    entry: resources.map(
      (resource): BundleEntry => ({
        fullUrl: `http://example.org/fhir/${resource.resourceType}/${resource.id}`,
        resource,
      }),
    ),
  };
}

/**
 * A small, complete patient: two lung/liver targets, one non-target node, pembrolizumab from 2026-01-12,
 * baseline CT 2026-01-05 and a follow-up on 2026-03-09 where the targets shrank by 40% (iPR).
 */
export function smallPatient(): Resource[] {
  return [
    patient(),
    bodyStructure('L1'),
    bodyStructure('L2', { coding: [{ system: SYSTEM.snomed, code: '10200004', display: 'Liver structure' }] }),
    bodyStructure('N1', { coding: [{ system: SYSTEM.snomed, code: '59441001', display: 'Structure of lymph node' }] }),
    medicationAdministration('ma1', '2026-01-12T10:00:00Z'),
    medicationAdministration('ma2', '2026-02-02T10:00:00Z'),
    imagingStudy('s0', '2026-01-05T09:00:00Z'),
    tumorSize('L1-t0', { lesion: 'L1', date: '2026-01-05', study: 's0', ld: mm(30), role: 'target' }),
    tumorSize('L2-t0', { lesion: 'L2', date: '2026-01-05', study: 's0', ld: mm(20), role: 'target' }),
    nonTargetStatus('N1-t0', { lesion: 'N1', date: '2026-01-05', study: 's0', value: 'present', role: 'non-target' }),
    imagingStudy('s1', '2026-03-09T09:00:00Z'),
    tumorSize('L1-t1', { lesion: 'L1', date: '2026-03-09', study: 's1', ld: mm(18), role: 'target' }),
    tumorSize('L2-t1', { lesion: 'L2', date: '2026-03-09', study: 's1', ld: mm(12), role: 'target' }),
    nonTargetStatus('N1-t1', { lesion: 'N1', date: '2026-03-09', study: 's1', value: 'present', role: 'non-target' }),
  ];
}

/** Maps resources the way the pipeline does: readBundle (versions, fullUrl aliases), then mapToDomain. */
export function mapResources(resources: Resource[], type: Bundle['type'] = 'collection'): MappedPatient {
  const { resources: read, aliases } = readBundle(bundle(resources, type));
  return mapToDomain(read, { catalogue: defaultCatalogue(), aliases });
}
