/**
 * Small builders for domain tests: a PatientRecord from plain numbers in millimetres.
 *
 *   patient({
 *     doses: ['2026-01-05'],
 *     lesions: { N1: { nodal: true } },
 *     scans: [{ date: '2026-01-01', sizes: { L1: 30, N1: 20 }, qualitative: { NT1: 'present' } }],
 *   })
 *
 * A size is the length that counts for the lesion (longest diameter, or short axis for a node), in mm;
 * `'tstm'` marks a target too small to measure. Lesions not listed in `lesions` are created non-nodal, each in
 * its own organ, with no explicit role. Nodal lesions default to the organ `lymph-node` (all nodes one organ).
 */
import { assessPatient } from '../../src/domain/assess.ts';
import { toTenths } from '../../src/domain/millimetres.ts';
import type {
  Dose,
  LabValue,
  Lesion,
  LesionRole,
  Measurement,
  PatientRecord,
  QualitativeAssessment,
  QualitativeState,
  Scan,
  Species,
  TimepointResponse,
} from '../../src/domain/types.ts';

export type SizeSpec = number | 'tstm' | { ld?: number; sa?: number };

export interface ScanSpec {
  date: string;
  sizes?: Record<string, SizeSpec>;
  qualitative?: Record<string, QualitativeState>;
}

export interface LesionSpec {
  organ?: string;
  nodal?: boolean;
  role?: LesionRole;
}

export interface PatientSpec {
  id?: string;
  species?: Species;
  /** Dose dates (a string) or full doses. */
  doses?: (string | Dose)[];
  lesions?: Record<string, LesionSpec>;
  scans: ScanSpec[];
  ctdna?: LabValue[];
  ecog?: LabValue[];
  markers?: PatientRecord['markers'];
}

/** Millimetres to tenths, failing loudly on a value toTenths rejects. */
export function mm(value: number): number {
  const t = toTenths(value, 'mm');
  if (t === undefined) throw new Error(`not a length: ${value}`);
  return t;
}

function lesionIds(spec: PatientSpec): string[] {
  const ids = new Set(Object.keys(spec.lesions ?? {}));
  for (const s of spec.scans) {
    for (const id of Object.keys(s.sizes ?? {})) ids.add(id);
    for (const id of Object.keys(s.qualitative ?? {})) ids.add(id);
  }
  return [...ids];
}

export function lesion(id: string, spec: LesionSpec = {}): Lesion {
  const nodal = spec.nodal ?? false;
  const l: Lesion = { id, organ: spec.organ ?? (nodal ? 'lymph-node' : `organ-of-${id}`), nodal };
  if (spec.role) l.explicitRole = spec.role;
  return l;
}

function measurement(l: Lesion, size: SizeSpec, date: string): Measurement {
  const sources = [`Observation/${l.id}-${date}`];
  if (size === 'tstm') return { lesionId: l.id, tooSmallToMeasure: true, sources };
  if (typeof size === 'number') {
    return l.nodal
      ? { lesionId: l.id, shortAxis: mm(size), longestDiameter: mm(size), sources }
      : { lesionId: l.id, longestDiameter: mm(size), sources };
  }
  const m: Measurement = { lesionId: l.id, sources };
  if (size.ld !== undefined) m.longestDiameter = mm(size.ld);
  if (size.sa !== undefined) m.shortAxis = mm(size.sa);
  return m;
}

export function scan(s: ScanSpec, lesions: ReadonlyMap<string, Lesion>): Scan {
  const find = (id: string): Lesion => lesions.get(id) ?? lesion(id);
  const measurements = Object.entries(s.sizes ?? {}).map(([id, size]) => measurement(find(id), size, s.date));
  const qualitative: QualitativeAssessment[] = Object.entries(s.qualitative ?? {}).map(([id, state]) => ({
    lesionId: id,
    state,
    sources: [`Observation/status-${id}-${s.date}`],
  }));
  return { id: s.date, date: s.date, imagingStudies: [`ImagingStudy/${s.date}`], measurements, qualitative };
}

export function patient(spec: PatientSpec): PatientRecord {
  const lesions = new Map(lesionIds(spec).map((id) => [id, lesion(id, spec.lesions?.[id])] as const));
  return {
    patientId: spec.id ?? 'p1',
    species: spec.species ?? 'human',
    lesions: [...lesions.values()],
    scans: spec.scans.map((s) => scan(s, lesions)),
    doses: (spec.doses ?? []).map((d) =>
      typeof d === 'string' ? { date: d, drug: 'pembrolizumab', source: `MedicationAdministration/${d}` } : d,
    ),
    ctdna: spec.ctdna ?? [],
    ecog: spec.ecog ?? [],
    markers: spec.markers ?? [],
    issues: [],
  };
}

/** Assesses a patient built from `spec`. */
export const assess = (spec: PatientSpec) => assessPatient(patient(spec));

/** The timepoint responses of a patient built from `spec`. */
export const responses = (spec: PatientSpec): TimepointResponse[] => assess(spec).timepoints.map((t) => t.response);

/** [date, response, status] per timepoint. */
export const timeline = (spec: PatientSpec): [string, TimepointResponse, string][] =>
  assess(spec).timepoints.map((t) => [t.date, t.response, t.status]);

/**
 * A plain human timeline: one dose on `start`, baseline scan on `start`, then one scan every `step` days.
 * `series` lists the scans' sizes (the first is baseline).
 */
export function series(
  sizes: ScanSpec['sizes'][],
  opts: {
    start?: string;
    step?: number | number[];
    species?: Species;
    lesions?: Record<string, LesionSpec>;
    qualitative?: (ScanSpec['qualitative'] | undefined)[];
  } = {},
): PatientSpec {
  const start = opts.start ?? '2026-01-05';
  const days: number[] = [0];
  for (let i = 1; i < sizes.length; i++) {
    const step = Array.isArray(opts.step) ? (opts.step[i - 1] ?? 42) : (opts.step ?? 42);
    days.push(days[i - 1]! + step);
  }
  return {
    species: opts.species ?? 'human',
    doses: [start],
    lesions: opts.lesions ?? {},
    scans: sizes.map((s, i) => {
      const spec: ScanSpec = { date: addDaysIso(start, days[i]!), sizes: s ?? {} };
      const q = opts.qualitative?.[i];
      if (q) spec.qualitative = q;
      return spec;
    }),
  };
}

/** Independent of src/domain/dates.ts so that the builders do not test the code with itself. */
export function addDaysIso(date: string, days: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

/** A rule-table row: a series of scans (see `series`) and the timepoint responses it must give. */
export interface ResponseRow {
  name: string;
  sizes: ScanSpec['sizes'][];
  qualitative?: (ScanSpec['qualitative'] | undefined)[];
  step?: number | number[];
  lesions?: Record<string, LesionSpec>;
  species?: Species;
  expected: TimepointResponse[];
}

/** The timepoint responses of a rule-table row. */
export const rowResponses = (r: ResponseRow): TimepointResponse[] =>
  responses(
    series(r.sizes, {
      step: r.step ?? 42,
      qualitative: r.qualitative ?? [],
      lesions: r.lesions ?? {},
      species: r.species ?? 'human',
    }),
  );
