/**
 * FHIR R4 resources of one patient -> the domain PatientRecord, plus what rendering needs to point back at
 * the inputs. Anything that cannot be used becomes a listed DataQualityIssue: never a silent drop, never a throw
 * for clinical content (only for an input that is not one patient's data at all).
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
import type {
  DataQualityIssue,
  Dose,
  IsoDate,
  LabValue,
  Lesion,
  MarkerSeries,
  PatientRecord,
  QualitativeAssessment,
  Scan,
} from '../domain/types.ts';
import { datePart } from '../fhir-model/dates.ts';
import { badRequest } from '../fhir-model/outcomes.ts';
import { isAdapterWritten, patientReferenceOf } from '../fhir-model/resource-owner.ts';
import { asArray, codings, hasCoding, isObject, normaliseReference, refOf, versionedRefOf } from './fhir-helpers.ts';
import type { ImmunotherapyCatalogue } from './immunotherapy-catalogue.ts';
import { isCountedStatus } from './observation-status.ts';
import { readCtdna, readEcog, readMarker } from './read-evidence.ts';
import { readImagingStudy } from './read-imaging-study.ts';
import { readLesion } from './read-lesion.ts';
import { readMedicationAdministration } from './read-medication-administration.ts';
import { readNonTargetStatus } from './read-non-target-status.ts';
import { isOtherAnimal, readSpecies } from './read-patient.ts';
import { readRole, readTumorSize } from './read-tumor-size.ts';

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

export function mapToDomain(resources: Resource[], options: MappingOptions): MappedPatient {
  /** A reference as "Type/id", through the Bundle's fullUrl aliases (urn:uuid:…) where needed. */
  const resolve = (ref: unknown): string | undefined => {
    const n = normaliseReference(ref as never);
    return (n && options.aliases?.get(n)) ?? n;
  };
  const { ref: patientRef, patient } = findPatient(resources, resolve);
  const issues: DataQualityIssue[] = [];
  if (isOtherAnimal(patient)) {
    issues.push({
      code: 'species-not-supported',
      text: 'The patient is an animal other than a dog; the human criteria were used.',
      source: patientRef,
    });
  }
  const belongs = (r: Resource): boolean => {
    if (r.resourceType === 'Patient' || r.resourceType === 'Medication') return true;
    const owner = resolve(patientReferenceOf(r));
    return owner === undefined || owner === patientRef;
  };

  const lesions = new Map<string, Lesion>();
  const bodyKeys = new Map<string, string>();
  const studies = new Map<string, IsoDate>();
  const medications = new Map<string, Medication>();
  const existingFlags: Flag[] = [];
  const unused = new Map<string, number>();
  const others: Resource[] = [];

  for (const r of resources) {
    if (!belongs(r)) {
      issues.push({
        code: 'other-patient',
        text: 'A resource belongs to another patient and was not used.',
        source: refOf(r),
      });
      continue;
    }
    switch (r.resourceType) {
      case 'BodyStructure': {
        const lesion = readLesion(r as BodyStructure);
        lesions.set(lesion.id, lesion);
        bodyKeys.set(refOf(r), lesion.id);
        break;
      }
      case 'ImagingStudy': {
        const date = readImagingStudy(r as ImagingStudy, issues);
        if (date) studies.set(refOf(r), date);
        break;
      }
      case 'Medication':
        medications.set(refOf(r), r as Medication);
        break;
      case 'Flag':
        if (isAdapterWritten(r)) existingFlags.push(r as Flag);
        else unused.set('Flag', (unused.get('Flag') ?? 0) + 1);
        break;
      case 'Patient':
        break;
      default:
        if (isAdapterWritten(r)) break;
        others.push(r);
    }
  }

  const scans = new Map<IsoDate, Scan>();
  const scanAt = (date: IsoDate): Scan => {
    let scan = scans.get(date);
    if (!scan) {
      scan = { id: date, date, imagingStudies: [], measurements: [], qualitative: [] };
      scans.set(date, scan);
    }
    return scan;
  };
  for (const [ref, date] of [...studies].sort()) scanAt(date).imagingStudies.push(ref);

  const sourcesByDate = new Map<IsoDate, string[]>();
  const used: string[] = [];
  const use = (r: Resource, date?: IsoDate) => {
    used.push(versionedRefOf(r));
    if (!date) return;
    const sources = sourcesByDate.get(date);
    if (sources) sources.push(versionedRefOf(r));
    else sourcesByDate.set(date, [versionedRefOf(r)]);
  };
  const doses: Dose[] = [];
  const ctdna: LabValue[] = [];
  const ecog: LabValue[] = [];
  const markers = new Map<string, LabValue[]>();
  const ctdnaCodes = [INPUT.ctdnaTumorFraction, ...(options.ctdnaCodes ?? [])];
  let notImmunotherapy = 0;

  /** The lesion an Observation is about, creating an unknown-organ lesion for a BodyStructure not given. */
  const lesionOf = (obs: Observation): string | undefined => {
    const focus = asArray(obs.focus).find(isObject);
    const ref = resolve(focus);
    if (ref && bodyKeys.has(ref)) return bodyKeys.get(ref);
    const identifierValue =
      isObject(focus?.identifier) && typeof focus.identifier.value === 'string' ? focus.identifier.value : undefined;
    const key = ref ?? identifierValue;
    if (!key) return undefined;
    if (!lesions.has(key)) {
      lesions.set(key, { id: key, organ: `unknown:${key}`, nodal: false });
      issues.push({
        code: 'lesion-without-body-structure',
        text: 'A measurement names a lesion whose BodyStructure was not found; its organ is unknown.',
        source: refOf(obs),
      });
    }
    return key;
  };
  /** The scan an Observation belongs to: its derivedFrom ImagingStudy, else the scan of the same date. */
  const scanDateOf = (obs: Observation, effective: IsoDate | undefined): IsoDate | undefined => {
    for (const d of asArray(obs.derivedFrom)) {
      const ref = resolve(d);
      if (ref && studies.has(ref)) return studies.get(ref);
    }
    return effective;
  };

  for (const r of others) {
    if (r.resourceType === 'MedicationAdministration') {
      const reading = readMedicationAdministration(
        r as MedicationAdministration,
        options.catalogue,
        medications,
        issues,
      );
      if ('dose' in reading) {
        doses.push(reading.dose);
        use(r);
      } else if (reading.ignored === 'not-immunotherapy') notImmunotherapy++;
      continue;
    }
    if (r.resourceType !== 'Observation') {
      unused.set(r.resourceType, (unused.get(r.resourceType) ?? 0) + 1);
      continue;
    }
    const obs = r as Observation;
    const source = refOf(obs);
    const isTumorSize = hasCoding(obs.code, INPUT.tumorSize.system, INPUT.tumorSize.code);
    const isNonTarget = hasCoding(obs.code, INPUT.nonTargetStatus.system, INPUT.nonTargetStatus.code);
    const isCtdna = ctdnaCodes.some((c) => hasCoding(obs.code, c.system, c.code));
    const isEcog = hasCoding(obs.code, INPUT.ecog.system, INPUT.ecog.code);
    const marker = codings(obs.code).find((c) => c.system === SYSTEM.loinc && c.code && TUMOR_MARKERS[c.code]);
    if (!isTumorSize && !isNonTarget && !isCtdna && !isEcog && !marker) {
      const c = codings(obs.code)[0];
      issues.push({
        code: 'unknown-observation',
        text: `An Observation with code ${c?.system ?? '?'}|${c?.code ?? '?'} is not one the adapter reads and was not used.`,
        source,
      });
      continue;
    }
    if (!isCountedStatus(obs)) {
      if (obs.status !== 'entered-in-error') {
        issues.push({
          code: 'status-not-counted',
          text: `An Observation with status ${String(obs.status)} was not counted.`,
          source,
        });
      }
      continue;
    }
    if (isTumorSize || isNonTarget) {
      const lesionId = lesionOf(obs);
      if (!lesionId) {
        issues.push({
          code: 'measurement-without-lesion',
          text: 'A lesion Observation has no focus BodyStructure and was not used.',
          source,
        });
        continue;
      }
      const role = readRole(obs, issues);
      const lesion = lesions.get(lesionId)!;
      if (role && !lesion.explicitRole) lesion.explicitRole = role;
      if (isTumorSize) {
        const reading = readTumorSize(obs, issues);
        if (!reading) continue;
        const date = scanDateOf(obs, reading.date);
        if (!date) {
          issues.push({
            code: 'measurement-without-date',
            text: 'A measurement has neither an ImagingStudy nor a date and was not used.',
            source,
          });
          continue;
        }
        const scan = scanAt(date);
        const existing = scan.measurements.find((m) => m.lesionId === lesionId);
        const { role: _role, date: _date, ...sizes } = reading;
        if (existing) {
          issues.push({
            code: 'duplicate-measurement',
            text: `The lesion was measured more than once on ${date}; the values were merged, later ones winning.`,
            source,
            date,
          });
          Object.assign(existing, sizes);
          existing.sources.push(versionedRefOf(obs));
        } else scan.measurements.push({ lesionId, ...sizes, sources: [versionedRefOf(obs)] });
        use(obs, date);
      } else {
        const state = readNonTargetStatus(obs, issues);
        const effective = obs.effectiveDateTime ?? obs.effectivePeriod?.start ?? obs.issued;
        const date = scanDateOf(obs, datePart(effective));
        if (!state || !date) {
          if (state)
            issues.push({
              code: 'measurement-without-date',
              text: 'A lesion status has neither an ImagingStudy nor a date and was not used.',
              source,
            });
          continue;
        }
        const q: QualitativeAssessment = { lesionId, state, sources: [versionedRefOf(obs)] };
        const scan = scanAt(date);
        scan.qualitative = [...scan.qualitative.filter((x) => x.lesionId !== lesionId), q];
        use(obs, date);
      }
      continue;
    }
    const value = isCtdna ? readCtdna(obs, issues) : isEcog ? readEcog(obs, issues) : readMarker(obs, issues);
    if (!value) continue;
    if (isCtdna) ctdna.push(value);
    else if (isEcog) ecog.push(value);
    else if (marker?.code) {
      const name = TUMOR_MARKERS[marker.code]!;
      const series = markers.get(name);
      if (series) series.push(value);
      else markers.set(name, [value]);
    }
    use(obs);
  }

  if (notImmunotherapy > 0) {
    issues.push({
      code: 'not-immunotherapy',
      text: `${notImmunotherapy} medication administration(s) are not immunotherapy in the adapter's catalogue and were not counted.`,
    });
  }
  for (const [type, n] of [...unused].sort()) {
    issues.push({
      code: 'resource-not-used',
      text: `${n} ${type} resource(s) are not inputs of the assessment and were not used.`,
    });
  }

  const markerSeries: MarkerSeries[] = [...markers]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, values]) => ({ name, values }));
  const record: PatientRecord = {
    patientId: patientRef.slice('Patient/'.length),
    species: readSpecies(patient),
    lesions: [...lesions.values()].sort((a, b) => a.id.localeCompare(b.id)),
    scans: [...scans.values()].sort((a, b) => a.date.localeCompare(b.date)),
    doses: doses.sort((a, b) => a.date.localeCompare(b.date)),
    ctdna,
    ecog,
    markers: markerSeries,
    issues,
  };
  return { record, patientRef, sourcesByDate, usedSources: [...new Set(used)].sort(), existingFlags };
}
