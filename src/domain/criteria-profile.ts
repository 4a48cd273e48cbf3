/**
 * Species-dependent thresholds (rules.md, iRECIST: confirmation interval; the dog interval is our choice,
 * after the canine seed article's 3-4 week recheck).
 */
import type { Species, Tenths } from './types.ts';

export interface CriteriaProfile {
  species: Species;
  /** A scan earlier than this after iUPD cannot confirm it (except by an additional new lesion). */
  minConfirmationDays: number;
  /** A confirming scan later than this still confirms, but the report notes it as late. */
  maxConfirmationDays: number;
  /** Smallest measurable non-nodal lesion (longest diameter). */
  measurableLongestDiameter: Tenths;
  /** Smallest measurable (pathological) node (short axis). */
  measurableNodeShortAxis: Tenths;
  /** A node under this short axis is normal (nodal CR). */
  normalNodeShortAxis: Tenths;
  /** A target too small to measure counts this much. */
  tooSmallToMeasure: Tenths;
  maxTargets: number;
  maxTargetsPerOrgan: number;
  /** Baselines older than this before treatment start are flagged as a data-quality issue. */
  maxBaselineAgeDays: number;
  /** Window after treatment start in which pseudoprogression is most common. */
  earlyWindowDays: number;
  /**
   * The next assessment is due this long after a scan when the patient's own history shows no interval (our choice:
   * the upper end of RECIST 1.1's usual 6-8 weeks for humans; the canine seed's 3-4 week recheck for dogs).
   */
  defaultAssessmentIntervalDays: number;
  /** How the report names the criteria. */
  name: string;
}

const COMMON = {
  measurableLongestDiameter: 100,
  measurableNodeShortAxis: 150,
  normalNodeShortAxis: 100,
  tooSmallToMeasure: 50,
  maxTargets: 5,
  maxTargetsPerOrgan: 2,
  maxBaselineAgeDays: 56,
  earlyWindowDays: 84,
} as const;

export const HUMAN: CriteriaProfile = {
  species: 'human',
  name: 'iRECIST (human criteria: confirmation scan 28-56 days after an unconfirmed progression)',
  minConfirmationDays: 28,
  maxConfirmationDays: 56,
  defaultAssessmentIntervalDays: 56,
  ...COMMON,
};
export const DOG: CriteriaProfile = {
  species: 'dog',
  name: 'iRECIST with the canine profile (confirmation scan 21-28 days after an unconfirmed progression, the 3-4 week recheck of veterinary practice)',
  minConfirmationDays: 21,
  maxConfirmationDays: 28,
  defaultAssessmentIntervalDays: 28,
  ...COMMON,
};

export function criteriaFor(species: Species): CriteriaProfile {
  return species === 'dog' ? DOG : HUMAN;
}
