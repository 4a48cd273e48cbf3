/**
 * What the per-resource-type mappers of one patient's Bundle share while they run (to-domain.ts): the lesions and
 * scans found so far, the issues, which inputs were used (for derivedFrom and Provenance), and how references
 * resolve through the Bundle's fullUrl aliases.
 */
import type { Medication, Observation, Resource } from '@medplum/fhirtypes';
import type { DataQualityIssue, IsoDate, Lesion, Scan } from '../domain/types.ts';
import { asArray, isObject, normaliseReference, refOf, versionedRefOf } from './fhir-helpers.ts';

export class MappingContext {
  readonly issues: DataQualityIssue[] = [];
  readonly lesions = new Map<string, Lesion>();
  /** BodyStructure reference -> lesion key. */
  readonly bodyKeys = new Map<string, string>();
  /** BodyStructures of another patient: a measurement of one of these is not used. */
  readonly foreignBodies = new Set<string>();
  /** ImagingStudy reference -> scan date. */
  readonly studies = new Map<string, IsoDate>();
  readonly medications = new Map<string, Medication>();
  readonly scans = new Map<IsoDate, Scan>();
  /** Versioned references of the inputs used, per scan date (for derivedFrom). */
  readonly sourcesByDate = new Map<IsoDate, string[]>();
  /** Resource types present but not inputs of the assessment, with their counts. */
  readonly unused = new Map<string, number>();
  private readonly used: string[] = [];
  private readonly aliases: Map<string, string> | undefined;
  /** reference text -> resolved "Type/id": a patient's inputs name the same few resources over and over. */
  private readonly resolved = new Map<string, string | undefined>();

  constructor(aliases: Map<string, string> | undefined) {
    this.aliases = aliases;
  }

  /** A reference as "Type/id", through the Bundle's fullUrl aliases (urn:uuid:…) where needed. */
  resolve(ref: unknown): string | undefined {
    const text = isObject(ref) && typeof ref.reference === 'string' ? ref.reference : undefined;
    if (!text) return undefined;
    const known = this.resolved.get(text);
    if (known !== undefined || this.resolved.has(text)) return known;
    const n = normaliseReference(ref as never);
    const result = (n && this.aliases?.get(n)) ?? n;
    this.resolved.set(text, result);
    return result;
  }

  /** Records an input as used, and as a source of the scan of `date` when it has one. */
  use(r: Resource, date?: IsoDate): void {
    const ref = versionedRefOf(r);
    this.used.push(ref);
    if (!date) return;
    const sources = this.sourcesByDate.get(date);
    if (sources) sources.push(ref);
    else this.sourcesByDate.set(date, [ref]);
  }

  usedSources(): string[] {
    return [...new Set(this.used)].sort();
  }

  countUnused(type: string): void {
    this.unused.set(type, (this.unused.get(type) ?? 0) + 1);
  }

  /** The scan (imaging visit) of a date, created on first use. */
  scanAt(date: IsoDate): Scan {
    let scan = this.scans.get(date);
    if (!scan) {
      scan = { id: date, date, imagingStudies: [], measurements: [], qualitative: [] };
      this.scans.set(date, scan);
    }
    return scan;
  }

  /** The lesion an Observation is about, creating an unknown-organ lesion for a BodyStructure not given. */
  lesionOf(obs: Observation): string | undefined {
    const focus = asArray(obs.focus).find(isObject);
    const ref = this.resolve(focus);
    if (ref && this.bodyKeys.has(ref)) return this.bodyKeys.get(ref);
    const identifierValue =
      isObject(focus?.identifier) && typeof focus.identifier.value === 'string' ? focus.identifier.value : undefined;
    const key = ref ?? identifierValue;
    if (!key) return undefined;
    if (!this.lesions.has(key)) {
      this.lesions.set(key, { id: key, organ: `unknown:${key}`, nodal: false });
      this.issues.push({
        code: 'lesion-without-body-structure',
        text: 'A measurement names a lesion whose BodyStructure was not found; its organ is unknown.',
        source: refOf(obs),
      });
    }
    return key;
  }

  /** The scan an Observation belongs to: its derivedFrom ImagingStudy, else the scan of the same date. */
  scanDateOf(obs: Observation, effective: IsoDate | undefined): IsoDate | undefined {
    for (const d of asArray(obs.derivedFrom)) {
      const ref = this.resolve(d);
      if (ref && this.studies.has(ref)) return this.studies.get(ref);
    }
    return effective;
  }
}
