/**
 * Everything said about one timepoint (the TimepointAssessment): its categories, iRECIST step, status, lesions,
 * pattern of progression, evidence, data-quality issues and the one next step. assess.ts walks the timepoints.
 */
import type { CriteriaProfile } from './criteria-profile.ts';
import { addDays, daysBetween } from './dates.ts';
import {
  type CtdnaEvidence,
  ctdnaEvidence,
  type EcogEvidence,
  ecogEvidence,
  isEarlyProgression,
  type MarkerTrend,
  markerTrends,
} from './evidence.ts';
import type { HyperprogressionAssessment } from './growth-rate.ts';
import { type ProgressionPattern, progressionShape, type Resistance, resistanceAt } from './interpretation.ts';
import type { IrecistStep } from './irecist.ts';
import { type LesionCourse, lesionCourses } from './lesion-course.ts';
import type { LesionRoles } from './lesion-roles.ts';
import { percentChange } from './millimetres.ts';
import type { NewLesionClasses, NewLesionEvaluation } from './new-lesions.ts';
import { decideNextStep, type NextStep } from './next-step.ts';
import type { NonTargetEvaluation, TargetEvaluation } from './recist.ts';
import type { RecistCarry } from './recist-carry-forward.ts';
import { type FlagPriority, flagPriority } from './status.ts';
import type { Timeline } from './timeline.ts';
import type { DataQualityIssue, IsoDate, LabValue, PatientStatus, Scan, Tenths, TimepointResponse } from './types.ts';

export interface TimepointAssessment {
  scan: Scan;
  index: number;
  date: IsoDate;
  daysSinceStart?: number;
  response: TimepointResponse;
  status: PatientStatus;
  flagPriority?: FlagPriority;
  target: TargetEvaluation;
  nonTarget: NonTargetEvaluation;
  newLesions: NewLesionEvaluation;
  baselineSod?: Tenths;
  nadirSod?: Tenths;
  changeFromBaselinePct?: number;
  changeFromNadirPct?: number;
  changeFromNadir?: Tenths;
  step: IrecistStep;
  /** While an iUPD is pending: the dates within which a confirming scan should be done. */
  confirmationWindow?: { from: IsoDate; to: IsoDate };
  /** iUPD within 12 weeks of start (where pseudoprogression is most common). */
  earlyProgression?: boolean;
  /**
   * Hyperprogression as judged at the first on-treatment timepoint (or why it could not be judged), carried while
   * that iUPD is pending or confirmed: hyperprogression stays until a reset.
   */
  hyperprogression?: HyperprogressionAssessment;
  resistance?: Resistance;
  /** At iUPD / iCPD: the lesions progressing at this timepoint (rules.md definition). */
  progressingLesions?: string[];
  /** At iUPD / iCPD: oligoprogression or widespread progression (interpretation.ts). */
  progressionPattern?: ProgressionPattern;
  /** `progressionPattern === 'oligoprogression'` (kept for readers of the earlier shape). */
  oligoprogression?: boolean;
  /** Every target, non-target and new lesion at this timepoint (the report's lesion table). */
  lesions: LesionCourse[];
  /** The one thing to do next (next-step.ts). */
  nextStep: NextStep;
  ctdna: CtdnaEvidence;
  ecog: EcogEvidence;
  markers: MarkerTrend[];
  /** Data-quality issues that belong to this timepoint. */
  issues: DataQualityIssue[];
}

/** Issues that belong to one timepoint: lesions not measured or not reported, a late confirmation. */
export function timepointIssues(
  scan: Scan,
  names: (ids: readonly string[]) => string,
  f: { target: TargetEvaluation; nonTarget: NonTargetEvaluation; newLesions: NewLesionEvaluation },
  step: IrecistStep,
  baselineSod: Tenths | undefined,
  profile: CriteriaProfile,
): DataQualityIssue[] {
  const issues: DataQualityIssue[] = [];
  const at = (code: string, text: string) => issues.push({ code, text, date: scan.date });
  if (f.target.missing.length > 0 && baselineSod !== undefined) {
    at('target-not-measured', `Target lesion(s) not measured on ${scan.date}: ${names(f.target.missing)}.`);
  }
  if (f.nonTarget.notAssessed.length > 0) {
    at(
      'non-target-not-assessed',
      `Non-target lesion(s) not assessed on ${scan.date}: ${names(f.nonTarget.notAssessed)}.`,
    );
  }
  if (f.newLesions.unreported.length > 0) {
    at(
      'new-lesion-not-reported',
      `New lesion(s) not reported on ${scan.date}: ${names(f.newLesions.unreported)}; a lesion not reported is not taken as gone.`,
    );
  }
  if (step.late && step.response === 'iCPD') {
    at(
      'late-confirmation',
      `The confirming scan came ${step.daysSinceUpd} days after iUPD, later than the ${profile.maxConfirmationDays}-day window.`,
    );
  }
  return issues;
}

export interface TimepointInput {
  scan: Scan;
  index: number;
  timeline: Timeline;
  profile: CriteriaProfile;
  roles: LesionRoles;
  newClasses: NewLesionClasses;
  baselineSizes: ReadonlyMap<string, Tenths>;
  carry: RecistCarry;
  findings: { target: TargetEvaluation; nonTarget: NonTargetEvaluation; newLesions: NewLesionEvaluation };
  step: IrecistStep;
  status: PatientStatus;
  hyperprogression?: HyperprogressionAssessment;
  previousResponses: readonly TimepointResponse[];
  wasConfirmed: boolean;
  scanDates: readonly IsoDate[];
  evidence: {
    ctdna: readonly LabValue[];
    ecog: readonly LabValue[];
    markers: readonly { name: string; values: readonly LabValue[] }[];
  };
  issues: DataQualityIssue[];
  names: (ids: readonly string[]) => string;
}

/** Everything said about one timepoint, from its categories, step and status. */
export function timepointAssessment(i: TimepointInput): TimepointAssessment {
  const { scan, timeline, profile, step } = i;
  const { target, nonTarget, newLesions } = i.findings;
  const start = timeline.treatmentStart;
  const nadir = i.carry.nadirSod;
  const baselineSod = i.carry.baselineSod;
  const pending = step.state.pending;
  const confirmationWindow = pending
    ? {
        from: addDays(pending.date, profile.minConfirmationDays),
        to: addDays(pending.date, profile.maxConfirmationDays),
      }
    : undefined;
  const lesions = lesionCourses({
    roles: i.roles,
    newClasses: i.newClasses,
    scan,
    baseline: timeline.baseline,
    baselineSizes: i.baselineSizes,
    nadirs: i.carry.lesionNadirs,
    ...i.findings,
    profile,
  });
  const progressed = step.response === 'iUPD' || step.response === 'iCPD';
  const shape = progressed ? progressionShape(lesions) : undefined;
  const ecog = ecogEvidence(i.evidence.ecog, start, scan.date);
  const missing = [...target.missing, ...nonTarget.notAssessed, ...newLesions.unreported];
  const tp: TimepointAssessment = {
    scan,
    index: i.index,
    date: scan.date,
    daysSinceStart: start ? daysBetween(start, scan.date) : undefined,
    response: step.response,
    status: i.status,
    flagPriority: flagPriority(i.status),
    target,
    nonTarget,
    newLesions,
    baselineSod,
    nadirSod: nadir,
    changeFromBaselinePct:
      target.sod !== undefined && baselineSod !== undefined ? percentChange(baselineSod, target.sod) : undefined,
    changeFromNadirPct: target.sod !== undefined && nadir !== undefined ? percentChange(nadir, target.sod) : undefined,
    changeFromNadir: target.sod !== undefined && nadir !== undefined ? target.sod - nadir : undefined,
    step,
    lesions,
    nextStep: decideNextStep({
      date: scan.date,
      response: step.response,
      status: i.status,
      confirmationWindow,
      tooEarly: step.early === true,
      clinicallyUnstable: ecog.unstable,
      missing: missing.map((id) => i.names([id])),
      scanDates: i.scanDates,
      profile,
    }),
    ctdna: ctdnaEvidence(i.evidence.ctdna, start, scan.date),
    ecog,
    markers: markerTrends(i.evidence.markers, scan.date),
    issues: i.issues,
  };
  if (confirmationWindow && pending) {
    tp.confirmationWindow = confirmationWindow;
    tp.earlyProgression = isEarlyProgression(start, pending.date, profile.earlyWindowDays);
  }
  if (i.hyperprogression) tp.hyperprogression = i.hyperprogression;
  if (shape) {
    tp.progressingLesions = shape.progressing;
    if (shape.pattern) tp.progressionPattern = shape.pattern;
    tp.oligoprogression = shape.pattern === 'oligoprogression';
  }
  if (step.response === 'iCPD' && !i.wasConfirmed) tp.resistance = resistanceAt(i.previousResponses);
  return tp;
}
