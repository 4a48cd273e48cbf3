/**
 * One decision per timepoint: what to do next, from the status, clinical stability, timing and the history together
 * (rules.md, "Clinical stability" and "Patient status and evidence"; issue #8 section 2). Exactly one next step, so the
 * report and the Flag cannot contradict each other: they both render this.
 */
import type { CriteriaProfile } from './criteria-profile.ts';
import { addDays, daysBetween } from './dates.ts';
import type { IsoDate, PatientStatus, TimepointResponse } from './types.ts';

export type NextStep =
  /** Review the treatment now; no advice to continue. */
  | { kind: 'review-treatment'; because: 'hyperprogression' | 'confirmed-progression' | 'clinically-unstable' }
  /** A pending iUPD in a patient not known to be unstable: a confirming scan within the window. */
  | {
      kind: 'confirm-progression';
      from: IsoDate;
      to: IsoDate;
      /** This scan was too early to confirm. */
      tooEarly: boolean;
      /** The window has passed without a confirming scan: confirm as soon as possible. */
      windowPassed: boolean;
      /** Lesions this scan did not measure or report, to be assessed on the confirming scan. */
      missing: string[];
    }
  /** Not evaluable outside a pending iUPD: measure what is missing. */
  | { kind: 'complete-assessment'; missing: string[]; by: IsoDate; intervalDays: number; basis: IntervalBasis }
  /** Response, stable disease or pseudoprogression: the next assessment. */
  | { kind: 'next-assessment'; by: IsoDate; intervalDays: number; basis: IntervalBasis };

/** Where the interval to the next assessment came from. */
export type IntervalBasis = 'history' | 'default';

/** Intervals shorter than this are repeat or confirmation scans, not the patient's usual schedule. */
const MIN_USUAL_INTERVAL_DAYS = 14;
/** The usual interval is read from this many most recent intervals (recent practice counts, and it stays O(1)). */
const RECENT_INTERVALS = 4;

/**
 * The interval the patient's history shows: the median of the most recent intervals between on-treatment scans
 * (those of at least 14 days); the profile's default when there is none yet (the first follow-up).
 */
export function usualInterval(
  scanDates: readonly IsoDate[],
  profile: CriteriaProfile,
): { days: number; basis: IntervalBasis } {
  const intervals: number[] = [];
  for (let i = scanDates.length - 1; i > 0 && intervals.length < RECENT_INTERVALS; i--) {
    const days = daysBetween(scanDates[i - 1]!, scanDates[i]!);
    if (days >= MIN_USUAL_INTERVAL_DAYS) intervals.push(days);
  }
  if (intervals.length === 0) return { days: profile.defaultAssessmentIntervalDays, basis: 'default' };
  intervals.sort((a, b) => a - b);
  const mid = intervals.length >> 1;
  const days = intervals.length % 2 === 1 ? intervals[mid]! : Math.round((intervals[mid - 1]! + intervals[mid]!) / 2);
  return { days, basis: 'history' };
}

export interface NextStepInput {
  date: IsoDate;
  response: TimepointResponse;
  status: PatientStatus;
  /** The confirmation window of the pending iUPD, if one is pending. */
  confirmationWindow?: { from: IsoDate; to: IsoDate };
  /** This scan came too early after the iUPD to confirm it. */
  tooEarly: boolean;
  /** ECOG shows clinical instability as of this timepoint. */
  clinicallyUnstable: boolean;
  /** Lesions not measured or not reported at this timepoint. */
  missing: string[];
  /** Dates of the on-treatment scans up to and including this one. */
  scanDates: readonly IsoDate[];
  profile: CriteriaProfile;
}

/**
 * The one next step. Hyperprogression and confirmed progression: review the treatment now. A pending iUPD in a
 * clinically unstable patient: review now (iRECIST supports treatment beyond progression only for clinically stable
 * patients). A pending iUPD otherwise: the confirmation window. NE: complete the assessment. Else: the next assessment.
 */
export function decideNextStep(i: NextStepInput): NextStep {
  if (i.status === 'hyperprogression') return { kind: 'review-treatment', because: 'hyperprogression' };
  if (i.status === 'confirmed-progression') return { kind: 'review-treatment', because: 'confirmed-progression' };
  if (i.confirmationWindow) {
    if (i.clinicallyUnstable) return { kind: 'review-treatment', because: 'clinically-unstable' };
    return {
      kind: 'confirm-progression',
      ...i.confirmationWindow,
      tooEarly: i.tooEarly,
      windowPassed: i.date > i.confirmationWindow.to,
      missing: i.missing,
    };
  }
  const interval = usualInterval(i.scanDates, i.profile);
  const by = addDays(i.date, interval.days);
  if (i.response === 'NE') {
    return { kind: 'complete-assessment', missing: i.missing, by, intervalDays: interval.days, basis: interval.basis };
  }
  return { kind: 'next-assessment', by, intervalDays: interval.days, basis: interval.basis };
}
