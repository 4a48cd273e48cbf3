/**
 * Assesses one patient's whole history: timeline -> roles -> per-timepoint RECIST 1.1 categories ->
 * iRECIST step -> status, with growth-rate and supporting evidence. Pure and deterministic: the same record
 * always gives the same assessment, whatever the order of its lesions, scans or measurements.
 */
import { type CriteriaProfile, criteriaFor } from './criteria-profile.ts';
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
import { assessHyperprogression, type HyperprogressionAssessment } from './growth-rate.ts';
import { isOligoprogression, progressingLesions, type Resistance, resistanceAt } from './interpretation.ts';
import { INITIAL_STATE, type IrecistState, type IrecistStep, irecistStep } from './irecist.ts';
import { assignRoles, type LesionRoles } from './lesion-roles.ts';
import { percentChange } from './millimetres.ts';
import { classifyNewLesions, evaluateNewLesions, type NewLesionEvaluation } from './new-lesions.ts';
import {
  evaluateNonTargets,
  evaluateTargets,
  type NonTargetEvaluation,
  type TargetEvaluation,
  targetSize,
} from './recist.ts';
import { type FlagPriority, flagPriority, patientStatus } from './status.ts';
import { buildTimeline } from './timeline.ts';
import type {
  DataQualityIssue,
  IsoDate,
  PatientRecord,
  PatientStatus,
  Scan,
  Tenths,
  TimepointResponse,
} from './types.ts';

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
  hyperprogression?: HyperprogressionAssessment;
  resistance?: Resistance;
  progressingLesions?: string[];
  oligoprogression?: boolean;
  ctdna: CtdnaEvidence;
  ecog: EcogEvidence;
  markers: MarkerTrend[];
  /** Data-quality issues that belong to this timepoint. */
  issues: DataQualityIssue[];
}

export interface Assessment {
  patientId: string;
  profile: CriteriaProfile;
  treatmentStart?: IsoDate;
  baseline?: Scan;
  preBaseline?: Scan;
  roles: LesionRoles;
  baselineSod?: Tenths;
  timepoints: TimepointAssessment[];
  status?: PatientStatus;
  /** Issues that concern the whole record (mapping problems, timeline, roles). */
  issues: DataQualityIssue[];
}

function sodAt(scan: Scan | undefined, roles: LesionRoles, profile: CriteriaProfile): Tenths | undefined {
  if (!scan || roles.targets.length === 0) return undefined;
  let total = 0;
  for (const l of roles.targets) {
    const size = targetSize(l, scan, profile);
    if (size === undefined) return undefined;
    total += size;
  }
  return total;
}

/**
 * Assesses every post-baseline timepoint of a patient.
 * @see ../../../shared/design/rules.md
 */
export function assessPatient(record: PatientRecord): Assessment {
  const profile = criteriaFor(record.species);
  const timeline = buildTimeline(record.scans, record.doses, profile);
  const issues: DataQualityIssue[] = [...record.issues, ...timeline.issues];
  const roles = assignRoles(record.lesions, timeline.baseline, profile);
  if (roles.inferred) {
    issues.push({
      code: 'roles-inferred',
      text: 'Lesion roles were inferred (no lesion-role extension): measurable baseline lesions became targets, largest first, at most 5 and 2 per organ.',
    });
  }
  const baselineSod = sodAt(timeline.baseline, roles, profile);
  if (timeline.baseline && roles.targets.length > 0 && baselineSod === undefined) {
    issues.push({
      code: 'baseline-target-unmeasured',
      text: 'A target lesion has no baseline measurement; target responses cannot be evaluated.',
      date: timeline.baseline.date,
    });
  }
  if (timeline.baseline && roles.targets.length === 0 && roles.nonTargets.length === 0) {
    issues.push({
      code: 'no-baseline-lesions',
      text: 'No lesion was recorded at baseline; responses cannot be evaluated.',
      date: timeline.baseline.date,
    });
  }
  const newClasses = classifyNewLesions(roles.newLesions, timeline.timepoints, profile);

  const result: TimepointAssessment[] = [];
  let state: IrecistState = INITIAL_STATE;
  let nadir = baselineSod;
  let nadirScan = timeline.baseline;
  let previousSod = baselineSod;
  let partialResponseHeld = false;
  let afterCompleteResponse = false;
  let hyperprogressionPending = false;
  const lastNltSizes = new Map<string, Tenths>();
  const responses: TimepointResponse[] = [];

  timeline.timepoints.forEach((scan, index) => {
    const ctx = {
      baselineSod: baselineSod ?? 0,
      nadirSod: nadir ?? 0,
      partialResponseHeld,
      afterCompleteResponse,
    };
    const target: TargetEvaluation =
      baselineSod === undefined && roles.targets.length > 0
        ? {
            response: 'NE',
            measuredSum: 0,
            missing: roles.targets.map((l) => l.id),
            sizes: new Map(),
            reason: 'no baseline sum of diameters',
          }
        : evaluateTargets(roles.targets, scan, ctx, profile);
    const nonTarget = evaluateNonTargets(roles.nonTargets, scan, profile);
    const newLesions = evaluateNewLesions(newClasses, scan, lastNltSizes, profile);
    const step = irecistStep(state, { date: scan.date, target, nonTarget, newLesions, previousSod }, profile);

    const tpIssues: DataQualityIssue[] = [];
    if (target.missing.length > 0 && baselineSod !== undefined) {
      tpIssues.push({
        code: 'target-not-measured',
        text: `${target.missing.length} target lesion(s) not measured on ${scan.date}.`,
        date: scan.date,
      });
    }
    if (step.late && step.response === 'iCPD') {
      tpIssues.push({
        code: 'late-confirmation',
        text: `The confirming scan came ${step.daysSinceUpd} days after iUPD, later than the ${profile.maxConfirmationDays}-day window.`,
        date: scan.date,
      });
    }

    const tp: TimepointAssessment = {
      scan,
      index,
      date: scan.date,
      daysSinceStart: timeline.treatmentStart ? daysBetween(timeline.treatmentStart, scan.date) : undefined,
      response: step.response,
      status: 'not-evaluable',
      target,
      nonTarget,
      newLesions,
      baselineSod,
      nadirSod: nadir,
      changeFromBaselinePct:
        target.sod !== undefined && baselineSod !== undefined ? percentChange(baselineSod, target.sod) : undefined,
      changeFromNadirPct:
        target.sod !== undefined && nadir !== undefined ? percentChange(nadir, target.sod) : undefined,
      changeFromNadir: target.sod !== undefined && nadir !== undefined ? target.sod - nadir : undefined,
      step,
      ctdna: ctdnaEvidence(record.ctdna, timeline.treatmentStart, scan.date),
      ecog: ecogEvidence(record.ecog, timeline.treatmentStart, scan.date),
      markers: markerTrends(record.markers, scan.date),
      issues: tpIssues,
    };

    const pendingUpd = step.state.pending;
    if (pendingUpd) {
      tp.confirmationWindow = {
        from: addDays(pendingUpd.date, profile.minConfirmationDays),
        to: addDays(pendingUpd.date, profile.maxConfirmationDays),
      };
      tp.earlyProgression = isEarlyProgression(timeline.treatmentStart, pendingUpd.date, profile.earlyWindowDays);
    }
    if (step.triggers) {
      hyperprogressionPending = false;
      if (index === 0 && timeline.treatmentStart && timeline.baseline && baselineSod !== undefined) {
        const pre = sodAt(timeline.preBaseline, roles, profile);
        tp.hyperprogression = assessHyperprogression(
          pre !== undefined && timeline.preBaseline ? { date: timeline.preBaseline.date, sod: pre } : undefined,
          { date: timeline.baseline.date, sod: baselineSod },
          target.sod !== undefined ? { date: scan.date, sod: target.sod } : undefined,
          true,
        );
        hyperprogressionPending = tp.hyperprogression.hyperprogression;
      }
    }
    if (step.response === 'iUPD' || step.response === 'iCPD') {
      const nadirSizes = new Map<string, Tenths>();
      for (const l of roles.targets) {
        const s = nadirScan ? targetSize(l, nadirScan, profile) : undefined;
        if (s !== undefined) nadirSizes.set(l.id, s);
      }
      tp.progressingLesions = progressingLesions({
        targetSizes: target.sizes,
        targetSizesAtNadir: nadirSizes,
        nonTargetProgressing: [...nonTarget.progressing, ...nonTarget.increased],
        newLesionsPresent: newLesions.present,
      });
      tp.oligoprogression = isOligoprogression(tp.progressingLesions);
    }
    if (step.response === 'iCPD' && !state.confirmed) tp.resistance = resistanceAt(responses);

    state = step.state;
    if (!state.pending) hyperprogressionPending = false;
    tp.status = patientStatus(step.response, state, hyperprogressionPending);
    tp.flagPriority = flagPriority(tp.status);

    // Carry forward what the next timepoint is measured against.
    if (target.response === 'PD') partialResponseHeld = false;
    else if (target.response === 'PR') partialResponseHeld = true;
    // After an overall CR any regrowth is progression; that holds while the iUPD it triggered is pending, so an
    // unchanged regrown target at the next scan is still progression (scenario F), not a reset.
    if (step.response === 'iCR') afterCompleteResponse = true;
    else if (step.response !== 'NE' && !state.pending) afterCompleteResponse = false;
    if (target.sod !== undefined) {
      if (nadir === undefined || target.sod < nadir) {
        nadir = target.sod;
        nadirScan = scan;
      }
      previousSod = target.sod;
    }
    responses.push(step.response);
    result.push(tp);
  });

  return {
    patientId: record.patientId,
    profile,
    treatmentStart: timeline.treatmentStart,
    baseline: timeline.baseline,
    preBaseline: timeline.preBaseline,
    roles,
    baselineSod,
    timepoints: result,
    status: result.at(-1)?.status,
    issues,
  };
}
