/**
 * The plain tumour-burden chart model: what the charts show, in millimetres, percentages and ISO dates, with no
 * domain or FHIR types. The server builds it from an Assessment (../chart-data.ts) and renders it to SVG; the SMART
 * app receives the same model as JSON and draws it with the same option builder (chart-option.ts) in the browser.
 * Every file in this folder is served to the browser after type stripping, so it may import only `./` siblings.
 */

/** A calendar date, YYYY-MM-DD. */
export type ChartDate = string;

export interface ChartTimepoint {
  date: ChartDate;
  /** Sum of target diameters (mm); absent when a target was not measured. */
  sumMm?: number;
  changeFromBaselinePct?: number;
  /** The nadir this scan was compared with (mm). */
  nadirMm?: number;
  /** The sum at or above which this scan is RECIST progression: nadir +20 % and at least +5 mm (mm). */
  progressionThresholdMm?: number;
  /** iRECIST timepoint response code (iCR, iPR, iSD, iNN, iUPD, iCPD, NE). */
  response: string;
  /** Patient status code after this scan. */
  status: string;
  /** Sum of the new-lesion targets (mm), when any new-lesion target was seen. */
  newLesionSumMm?: number;
  newLesionCount: number;
}

/** A point in time the clinician should notice, drawn as a labelled vertical line. */
export interface ChartEvent {
  date: ChartDate;
  kind: 'iUPD' | 'iCPD' | 'reset' | 'hyperprogression';
  /** Short label drawn on the chart. */
  label: string;
}

export interface ChartConfirmationWindow {
  /** The iUPD awaiting (or that awaited) confirmation. */
  updDate: ChartDate;
  from: ChartDate;
  to: ChartDate;
}

export interface ChartDose {
  date: ChartDate;
  drug: string;
}

export type ChartLesionRole = 'target' | 'non-target' | 'new';

export interface ChartLesionSize {
  date: ChartDate;
  /** The size that counts (short axis for nodes, longest diameter otherwise), mm. */
  mm?: number;
  /** Change from this lesion's baseline size (targets only). */
  pctFromBaseline?: number;
  /** Qualitative state when reported: absent, present, unequivocal-progression, increased. */
  state?: string;
  /** Reported as too small to measure (counted as 5 mm). */
  tooSmall?: boolean;
}

export interface ChartLesion {
  id: string;
  role: ChartLesionRole;
  nodal: boolean;
  sizes: ChartLesionSize[];
}

export interface ChartLabPoint {
  date: ChartDate;
  value?: number;
  /** Qualitative result: detected (true) / not detected (false). */
  detected?: boolean;
}

/** One laboratory series in one unit: values in different units are never drawn on one axis. */
export interface ChartLabSeries {
  kind: 'ctdna' | 'marker';
  name: string;
  unit?: string;
  points: ChartLabPoint[];
}

export interface ChartModel {
  species: string;
  treatmentStart?: ChartDate;
  /** The scan before baseline (its growth to baseline is the pre-treatment growth rate). */
  preBaseline?: { date: ChartDate; sumMm?: number };
  baseline?: { date: ChartDate; sumMm?: number; prThresholdMm?: number };
  /** Assessed timepoints after baseline, in date order. */
  timepoints: ChartTimepoint[];
  events: ChartEvent[];
  confirmationWindows: ChartConfirmationWindow[];
  doses: ChartDose[];
  lesions: ChartLesion[];
  labs: ChartLabSeries[];
}
