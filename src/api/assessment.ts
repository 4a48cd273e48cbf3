/**
 * The public `Assessment`: what an integration engineer who embeds the engine (a Medplum bot, a Mirth channel script)
 * reads of one patient's assessment. A stable projection of the domain's internal model, defined here and only here,
 * so the domain can change without breaking embedders: every field is plain JSON (no Maps, no internal types),
 * lengths are millimetres, dates are YYYY-MM-DD. Adding a field is allowed; renaming or removing one is a breaking
 * change of the package. https://hl7.org/fhir/R4 (the transaction) and docs/architecture.md (the rules).
 */
import type { Assessment as DomainAssessment, TimepointAssessment as DomainTimepoint } from '../domain/assess.ts';
import type {
  NonTargetResponse,
  PatientStatus,
  ProgressionCategory,
  RecistOverall as RecistResponse,
  Species,
  TargetResponse,
  TimepointResponse,
} from '../domain/types.ts';

/**
 * The code sets are the contract's (profiles/CodeSystem-irecist.json, RECIST 1.1): the domain's own unions, so a
 * code added there is a code added here.
 * - TimepointResponse: iRECIST (Seymour 2017): iCR, iPR, iSD, iNN (non-CR/non-PD), iUPD, iCPD, or NE.
 * - RecistResponse: RECIST 1.1 overall response (new lesions counted as RECIST 1.1 does).
 * - PatientStatus: where the patient stands after a timepoint (what the chart Flag says).
 * - ProgressionCategory: a category that can trigger an iUPD.
 */
export type {
  NonTargetResponse,
  PatientStatus,
  ProgressionCategory,
  RecistOverall as RecistResponse,
  TargetResponse,
  TimepointResponse,
} from '../domain/types.ts';

/** A data-quality note: data the engine could not use or is unsure of (also listed in the report). */
export interface DataQualityNote {
  /** Machine-readable kind, e.g. `unknown-unit`, `baseline-too-old`. */
  code: string;
  /** Plain words. */
  text: string;
  /** The input resource concerned, e.g. "Observation/x". */
  source?: string;
  /** The scan date it belongs to. */
  date?: string;
}

/** One post-baseline timepoint (one imaging visit). */
export interface TimepointSummary {
  /** Scan date, YYYY-MM-DD. */
  date: string;
  /** Days since the first immunotherapy dose, when known. */
  daysSinceStart?: number;
  /** The iRECIST response. */
  response: TimepointResponse;
  /** The RECIST 1.1 overall response. */
  recist: RecistResponse;
  /** Per-category responses. */
  categories: {
    /** Target lesions: CR, PR, SD, PD, NE, or `none` (no targets). */
    target: TargetResponse;
    /** Non-target lesions: CR, non-CR-non-PD, PD, NE, or `none` (no non-targets). */
    nonTarget: NonTargetResponse;
    /** New lesions seen so far, and present at this scan. */
    newLesions: { seen: number; present: number };
  };
  /** Sums of diameters, mm. */
  sums: {
    /** Target lesions; absent when a target was not measured. */
    targetMm?: number;
    /** Over the targets that were measured. */
    measuredTargetMm: number;
    /** New measurable lesions (iRECIST new-lesion target sum); absent when one of them was not reported. */
    newLesionTargetMm?: number;
  };
  /** The baseline and the nadir the response was judged against. */
  reference: {
    baselineMm?: number;
    nadirMm?: number;
    changeFromBaselinePct?: number;
    changeFromNadirPct?: number;
    changeFromNadirMm?: number;
  };
  /** The iRECIST state after this timepoint. */
  irecist: {
    /** An iUPD awaiting confirmation: its date and the categories that triggered it. */
    pendingUpd?: { date: string; triggers: ProgressionCategory[] };
    /** iCPD reached: every later timepoint is iCPD. */
    confirmed: boolean;
    /** An iUPD was reset (pseudoprogression) and no new iUPD has followed. */
    pseudoprogression: boolean;
    /** This timepoint reset an iUPD. */
    reset: boolean;
    /** Categories that triggered a new iUPD here. */
    triggers: ProgressionCategory[];
    /** While an iUPD is pending: the dates within which a confirming scan should be done. */
    confirmationWindow?: { from: string; to: string };
  };
  status: PatientStatus;
  /** Hyperprogression (Champiat), when it was judged. */
  hyperprogression?: boolean;
  notes: DataQualityNote[];
}

/** One patient's assessment: every post-baseline timepoint, and where the patient stands after the last. */
export interface Assessment {
  patientId: string;
  species: Species;
  /** First immunotherapy dose, YYYY-MM-DD. */
  treatmentStart?: string;
  /** Baseline scan date. */
  baselineDate?: string;
  /** Baseline sum of diameters of the target lesions, mm. */
  baselineSumMm?: number;
  /** After the last timepoint; absent when there is no post-baseline timepoint. */
  status?: PatientStatus;
  timepoints: TimepointSummary[];
  /** Notes about the whole record (mapping, timeline, lesion roles). */
  notes: DataQualityNote[];
}

/** Integer tenths of a millimetre -> millimetres. */
const mm = (tenths: number): number => tenths / 10;
const optionalMm = (tenths: number | undefined): number | undefined => (tenths === undefined ? undefined : mm(tenths));

/** Keeps only the keys whose value is defined (so the JSON has no `undefined` holes). */
function defined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

const note = (n: DataQualityNote): DataQualityNote =>
  defined({ code: n.code, text: n.text, source: n.source, date: n.date });

function timepointSummary(t: DomainTimepoint): TimepointSummary {
  const pending = t.step.state.pending;
  return defined({
    date: t.date,
    daysSinceStart: t.daysSinceStart,
    response: t.response,
    recist: t.step.recist,
    categories: {
      target: t.target.response,
      nonTarget: t.nonTarget.response,
      newLesions: { seen: t.newLesions.count, present: t.newLesions.present.length },
    },
    sums: defined({
      targetMm: optionalMm(t.target.sod),
      measuredTargetMm: mm(t.target.measuredSum),
      newLesionTargetMm: optionalMm(t.newLesions.nltSum),
    }),
    reference: defined({
      baselineMm: optionalMm(t.baselineSod),
      nadirMm: optionalMm(t.nadirSod),
      changeFromBaselinePct: t.changeFromBaselinePct,
      changeFromNadirPct: t.changeFromNadirPct,
      changeFromNadirMm: optionalMm(t.changeFromNadir),
    }),
    irecist: defined({
      pendingUpd: pending ? { date: pending.date, triggers: [...pending.triggers] } : undefined,
      confirmed: t.step.state.confirmed,
      pseudoprogression: t.step.state.pseudoprogression,
      reset: t.step.reset === true,
      triggers: [...(t.step.triggers ?? [])],
      confirmationWindow: t.confirmationWindow ? { ...t.confirmationWindow } : undefined,
    }),
    status: t.status,
    hyperprogression: t.hyperprogression?.hyperprogression,
    notes: t.issues.map(note),
  });
}

/**
 * The public projection of the domain's assessment.
 * @param a - The domain's assessment (src/domain/assess.ts).
 * @returns The public Assessment.
 */
export function toPublicAssessment(a: DomainAssessment): Assessment {
  return defined({
    patientId: a.patientId,
    species: a.profile.species,
    treatmentStart: a.treatmentStart,
    baselineDate: a.baseline?.date,
    baselineSumMm: optionalMm(a.baselineSod),
    status: a.status,
    timepoints: a.timepoints.map(timepointSummary),
    notes: a.issues.map(note),
  });
}
