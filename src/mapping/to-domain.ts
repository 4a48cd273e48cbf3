/**
 * FHIR R4 resources of one patient -> the domain PatientRecord, plus what rendering needs to point back at
 * the inputs. Anything that cannot be used becomes a listed DataQualityIssue: never a silent drop, never a throw
 * for clinical content (only for an input that is not one patient's data at all). One mapper per resource type;
 * the readers of each resource's fields are the read-*.ts files.
 */
import type {
  BodyStructure,
  Flag,
  ImagingStudy,
  Medication,
  MedicationAdministration,
  Observation,
  Patient,
  Resource,
} from '@medplum/fhirtypes';
import { INPUT, SYSTEM, TUMOR_MARKERS } from '../codes.ts';
import type { IsoDate, PatientRecord } from '../domain/types.ts';
import { badRequest } from '../fhir-model/outcomes.ts';
import { isAdapterWritten, patientReferenceOf } from '../fhir-model/resource-owner.ts';
import { codings, hasCoding, refOf } from './fhir-helpers.ts';
import type { ImmunotherapyCatalogue } from './immunotherapy-catalogue.ts';
import { type LabKind, LabSeries } from './map-lab-observation.ts';
import { mapLesionObservation } from './map-lesion-observation.ts';
import { MappingContext } from './mapping-context.ts';
import { isCountedStatus } from './observation-status.ts';
import { readImagingStudy } from './read-imaging-study.ts';
import { readLesion } from './read-lesion.ts';
import { readMedicationAdministration } from './read-medication-administration.ts';
import { isOtherAnimal, readSpecies } from './read-patient.ts';

export interface MappingOptions {
  catalogue: ImmunotherapyCatalogue;
  /** Extra codes that mean "ctDNA tumour fraction" (system|code). */
  ctdnaCodes?: readonly { system: string; code: string }[];
  /** fullUrl aliases from the Bundle ("urn:uuid:…" -> "Type/id"). */
  aliases?: Map<string, string>;
}

export interface MappedPatient {
  record: PatientRecord;
  patientRef: string;
  /** Versioned references of the inputs used, per scan date (for derivedFrom). */
  sourcesByDate: Map<IsoDate, string[]>;
  /** Versioned references of every input used (for Provenance.entity). */
  usedSources: string[];
  /** Flags the adapter wrote earlier (identifier under IDENTIFIER_SYSTEM), as found in the input. */
  existingFlags: Flag[];
  /** Lesion key -> "BodyStructure/id" of the patient's BodyStructures found in the input (a disease status' focus). */
  bodyStructures: Map<string, string>;
}

/** Which patient the Bundle is about: its one Patient, or the one every subject points at. */
function findPatient(
  resources: Resource[],
  resolve: (r: unknown) => string | undefined,
): { ref: string; patient?: Patient } {
  const patients = resources.filter((r): r is Patient => r.resourceType === 'Patient');
  if (patients.length > 1) throw badRequest('The Bundle holds more than one Patient; give one patient per Bundle');
  if (patients[0]) return { ref: refOf(patients[0]), patient: patients[0] };
  const subjects = new Set(
    resources.map((r) => resolve(patientReferenceOf(r))).filter((s): s is string => s?.startsWith('Patient/') === true),
  );
  if (subjects.size === 1) return { ref: [...subjects][0]! };
  if (subjects.size === 0)
    throw badRequest('The Bundle names no patient (no Patient resource and no subject reference)');
  throw badRequest('The Bundle refers to more than one patient; give one patient per Bundle');
}

/** What the Observation is, by its code: a lesion Observation, a lab value, or neither. */
function observationKind(
  obs: Observation,
  ctdnaCodes: readonly { system: string; code: string }[],
): { lesion: 'size' | 'status' } | { lab: LabKind } | undefined {
  if (hasCoding(obs.code, INPUT.tumorSize.system, INPUT.tumorSize.code)) return { lesion: 'size' };
  if (hasCoding(obs.code, INPUT.nonTargetStatus.system, INPUT.nonTargetStatus.code)) return { lesion: 'status' };
  if (ctdnaCodes.some((c) => hasCoding(obs.code, c.system, c.code))) return { lab: { kind: 'ctdna' } };
  if (hasCoding(obs.code, INPUT.ecog.system, INPUT.ecog.code)) return { lab: { kind: 'ecog' } };
  const marker = codings(obs.code).find((c) => c.system === SYSTEM.loinc && c.code && TUMOR_MARKERS[c.code]);
  return marker?.code ? { lab: { kind: 'marker', loinc: marker.code } } : undefined;
}

/** Observation: a lesion measurement or status into its scan, a lab value into its series, anything else listed. */
function mapObservation(
  ctx: MappingContext,
  obs: Observation,
  labs: LabSeries,
  ctdnaCodes: readonly { system: string; code: string }[],
) {
  const source = refOf(obs);
  const kind = observationKind(obs, ctdnaCodes);
  if (!kind) {
    const c = codings(obs.code)[0];
    ctx.issues.push({
      code: 'unknown-observation',
      text: `An Observation with code ${c?.system ?? '?'}|${c?.code ?? '?'} is not one the adapter reads and was not used.`,
      source,
    });
    return;
  }
  if (!isCountedStatus(obs)) {
    if (obs.status !== 'entered-in-error') {
      ctx.issues.push({
        code: 'status-not-counted',
        text: `An Observation with status ${String(obs.status)} was not counted.`,
        source,
      });
    }
    return;
  }
  if ('lesion' in kind) mapLesionObservation(ctx, obs, kind.lesion);
  else labs.add(ctx, obs, kind.lab);
}

/** The resources that give identity and dates (lesions, scans, medications), mapped before any Observation. */
function mapStructure(ctx: MappingContext, r: Resource, existingFlags: Flag[]): 'done' | 'later' {
  switch (r.resourceType) {
    case 'BodyStructure': {
      const lesion = readLesion(r as BodyStructure);
      ctx.lesions.set(lesion.id, lesion);
      ctx.bodyKeys.set(refOf(r), lesion.id);
      return 'done';
    }
    case 'ImagingStudy': {
      const date = readImagingStudy(r as ImagingStudy, ctx.issues);
      if (date) ctx.studies.set(refOf(r), date);
      return 'done';
    }
    case 'Medication':
      ctx.medications.set(refOf(r), r as Medication);
      return 'done';
    case 'Flag':
      if (isAdapterWritten(r)) existingFlags.push(r as Flag);
      else ctx.countUnused('Flag');
      return 'done';
    case 'Patient':
      return 'done';
    default:
      return isAdapterWritten(r) ? 'done' : 'later';
  }
}

/** Maps one patient's resources to the domain record (contract section 1). */
export function mapToDomain(resources: Resource[], options: MappingOptions): MappedPatient {
  const ctx = new MappingContext(options.aliases);
  const { ref: patientRef, patient } = findPatient(resources, (ref) => ctx.resolve(ref));
  if (isOtherAnimal(patient)) {
    ctx.issues.push({
      code: 'species-not-supported',
      text: 'The patient is an animal other than a dog; the human criteria were used.',
      source: patientRef,
    });
  }
  const belongs = (r: Resource): boolean => {
    if (r.resourceType === 'Patient' || r.resourceType === 'Medication') return true;
    const owner = ctx.resolve(patientReferenceOf(r));
    return owner === undefined || owner === patientRef;
  };
  const existingFlags: Flag[] = [];
  const later: Resource[] = [];
  for (const r of resources) {
    if (!belongs(r)) {
      if (r.resourceType === 'BodyStructure') ctx.foreignBodies.add(refOf(r));
      ctx.issues.push({
        code: 'other-patient',
        text: 'A resource belongs to another patient and was not used.',
        source: refOf(r),
      });
    } else if (mapStructure(ctx, r, existingFlags) === 'later') later.push(r);
  }
  for (const [ref, date] of [...ctx.studies].sort()) ctx.scanAt(date).imagingStudies.push(ref);

  const ctdnaCodes = [INPUT.ctdnaTumorFraction, ...(options.ctdnaCodes ?? [])];
  const labs = new LabSeries();
  const doses: PatientRecord['doses'] = [];
  let notImmunotherapy = 0;
  for (const r of later) {
    if (r.resourceType === 'Observation') mapObservation(ctx, r as Observation, labs, ctdnaCodes);
    else if (r.resourceType === 'MedicationAdministration') {
      const reading = readMedicationAdministration(
        r as MedicationAdministration,
        options.catalogue,
        ctx.medications,
        ctx.issues,
      );
      if ('dose' in reading) {
        doses.push(reading.dose);
        ctx.use(r);
      } else if (reading.ignored === 'not-immunotherapy') notImmunotherapy++;
    } else ctx.countUnused(r.resourceType);
  }
  const { ctdna, ecog, markers } = labs.finish(ctx);

  if (notImmunotherapy > 0) {
    ctx.issues.push({
      code: 'not-immunotherapy',
      text: `${notImmunotherapy} medication administration(s) are not immunotherapy in the adapter's catalogue and were not counted.`,
    });
  }
  for (const [type, n] of [...ctx.unused].sort()) {
    ctx.issues.push({
      code: 'resource-not-used',
      text: `${n} ${type} resource(s) are not inputs of the assessment and were not used.`,
    });
  }
  const record: PatientRecord = {
    patientId: patientRef.slice('Patient/'.length),
    species: readSpecies(patient),
    lesions: [...ctx.lesions.values()].sort((a, b) => a.id.localeCompare(b.id)),
    scans: [...ctx.scans.values()].sort((a, b) => a.date.localeCompare(b.date)),
    doses: doses.sort((a, b) => a.date.localeCompare(b.date)),
    ctdna,
    ecog,
    markers,
    issues: ctx.issues,
  };
  return {
    record,
    patientRef,
    sourcesByDate: ctx.sourcesByDate,
    usedSources: ctx.usedSources(),
    existingFlags,
    bodyStructures: new Map([...ctx.bodyKeys].map(([ref, key]) => [key, ref])),
  };
}
