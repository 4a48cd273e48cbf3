/**
 * The response-assessment domain model. Pure data: no FHIR types, no I/O.
 * Lengths are integer tenths of a millimetre (`Tenths`) so that all arithmetic is exact (rules.md, Timeline).
 */

/** Integer tenths of a millimetre: 10.1 mm = 101. */
export type Tenths = number;
/** A calendar date, YYYY-MM-DD. */
export type IsoDate = string;

export type Species = 'human' | 'dog';
export type LesionRole = 'target' | 'non-target' | 'new';

/** Qualitative state of a non-target (or non-measured new) lesion at one scan. */
export type QualitativeState = 'absent' | 'present' | 'unequivocal-progression' | 'increased';

export interface Lesion {
  /** Stable key: the BodyStructure identifier, or its id. */
  id: string;
  /** Organ key; all lymph nodes share one organ. */
  organ: string;
  nodal: boolean;
  /** Where the lesion is, in words (e.g. "Left lower lobe of lung"), for the lesion table; undefined when not given. */
  site?: string;
  /** Role given explicitly by the lesion-role extension, if any. */
  explicitRole?: LesionRole;
}

export interface Measurement {
  lesionId: string;
  longestDiameter?: Tenths;
  shortAxis?: Tenths;
  /** Reported as too small to measure (e.g. "< 5 mm"): counts as 5 mm (RECIST 1.1). */
  tooSmallToMeasure?: boolean;
  /** Input resources this came from (e.g. "Observation/x/_history/2"), for derivedFrom and Provenance. */
  sources: string[];
}

export interface QualitativeAssessment {
  lesionId: string;
  state: QualitativeState;
  sources: string[];
}

export interface Scan {
  /** Key of the scan: its date (studies and measurements of one day are one imaging visit). */
  id: string;
  date: IsoDate;
  /** The ImagingStudy references of this visit (none when only measurements were found). */
  imagingStudies: string[];
  measurements: Measurement[];
  qualitative: QualitativeAssessment[];
}

export interface Dose {
  date: IsoDate;
  drug: string;
  source: string;
}

export interface LabValue {
  date: IsoDate;
  /** Numeric value (ctDNA %, ECOG grade, marker level). */
  value?: number;
  unit?: string;
  /** For qualitative ctDNA: detected (true) / not detected (false). */
  detected?: boolean;
  source: string;
}

export interface MarkerSeries {
  name: string;
  values: LabValue[];
}

export interface DataQualityIssue {
  /** Machine-readable kind, e.g. `unknown-unit`, `baseline-too-old`. */
  code: string;
  /** Plain words for the report. */
  text: string;
  /** The input resource concerned, e.g. "Observation/x". */
  source?: string;
  /** The scan date the issue belongs to, when it belongs to one. */
  date?: IsoDate;
}

/** Everything the engine needs about one patient, already mapped from FHIR. */
export interface PatientRecord {
  patientId: string;
  species: Species;
  lesions: Lesion[];
  scans: Scan[];
  doses: Dose[];
  ctdna: LabValue[];
  ecog: LabValue[];
  markers: MarkerSeries[];
  /** Problems found while mapping; carried into every report. */
  issues: DataQualityIssue[];
}

export type TargetResponse = 'CR' | 'PR' | 'SD' | 'PD' | 'NE' | 'none';
export type NonTargetResponse = 'CR' | 'non-CR-non-PD' | 'PD' | 'NE' | 'none';
export type NewLesionResponse = 'PD' | 'NE' | 'none';
export type RecistOverall = 'CR' | 'PR' | 'SD' | 'non-CR-non-PD' | 'PD' | 'NE';

export type TimepointResponse = 'iCR' | 'iPR' | 'iSD' | 'iNN' | 'iUPD' | 'iCPD' | 'NE';
export type PatientStatus =
  | 'responding'
  | 'stable'
  | 'not-evaluable'
  | 'possible-pseudoprogression'
  | 'pseudoprogression'
  | 'confirmed-progression'
  | 'hyperprogression';

export type ProgressionCategory = 'target' | 'non-target' | 'new-lesion';
