/**
 * Tumour growth rate and hyperprogression (rules.md, "Hyperprogression"; Ferte 2014, Champiat 2017, Kas 2020).
 * TGR = 100 x (exp(3 x ln(SOD2 / SOD1) / months) - 1), the percentage increase in tumour volume per month,
 * with months = days x 12 / 365.25.
 */
import { daysBetween } from './dates.ts';
import type { IsoDate, Tenths } from './types.ts';

export interface SizedPoint {
  date: IsoDate;
  sod: Tenths;
}

/** TGR in % per month between two sized scans; undefined when it cannot be computed. */
export function tumourGrowthRate(from: SizedPoint, to: SizedPoint): number | undefined {
  const days = daysBetween(from.date, to.date);
  if (days <= 0 || from.sod <= 0 || to.sod <= 0) return undefined;
  const months = (days * 12) / 365.25;
  return 100 * (Math.exp((3 * Math.log(to.sod / from.sod)) / months) - 1);
}

export interface HyperprogressionAssessment {
  tgrReference?: number;
  tgrExperimental?: number;
  /** TGR_exp - TGR_ref (Kas 2020: > 100 suggests hyperprogression). */
  deltaTgr?: number;
  /** TGR_exp / TGR_ref. */
  ratio?: number;
  hyperprogression: boolean;
  /** Why it could not be assessed, in plain words, when it could not. */
  undefinedBecause?: string;
}

export const NO_PRE_BASELINE =
  'there is no scan before the baseline scan, so the growth rate before treatment is unknown';
export const NOT_GROWING_BEFORE = 'the tumour was not growing before treatment';
export const SUM_MISSING = 'a sum of target diameters is missing or zero';

/**
 * Champiat: at the first on-treatment timepoint, RECIST PD and TGR_exp >= 2 x TGR_ref. Undefined (not
 * hyperprogression) without a pre-baseline scan or when TGR_ref <= 0.
 */
export function assessHyperprogression(
  preBaseline: SizedPoint | undefined,
  baseline: SizedPoint,
  firstOnTreatment: SizedPoint | undefined,
  progression: boolean,
): HyperprogressionAssessment {
  const tgrExperimental = firstOnTreatment ? tumourGrowthRate(baseline, firstOnTreatment) : undefined;
  if (!preBaseline) return { tgrExperimental, hyperprogression: false, undefinedBecause: NO_PRE_BASELINE };
  const tgrReference = tumourGrowthRate(preBaseline, baseline);
  const deltaTgr =
    tgrReference !== undefined && tgrExperimental !== undefined ? tgrExperimental - tgrReference : undefined;
  const base = { tgrReference, tgrExperimental, deltaTgr };
  if (tgrReference === undefined || tgrExperimental === undefined) {
    return { ...base, hyperprogression: false, undefinedBecause: SUM_MISSING };
  }
  if (tgrReference <= 0) return { ...base, hyperprogression: false, undefinedBecause: NOT_GROWING_BEFORE };
  const ratio = tgrExperimental / tgrReference;
  return { ...base, ratio, hyperprogression: progression && ratio >= 2 };
}

/** The scans hyperprogression is judged from (rules.md, "Hyperprogression"), as far as the record has them. */
export interface FirstScanGrowth {
  treatmentStart?: IsoDate;
  preBaseline?: SizedPoint;
  baseline?: SizedPoint;
  firstOnTreatment?: SizedPoint;
  /** RECIST progression at the first on-treatment scan. */
  progression: boolean;
  /** The patient has target lesions (a sum of diameters to grow). */
  hasTargets: boolean;
}

/**
 * Hyperprogression at the first on-treatment timepoint, or why it could not be assessed: with no immunotherapy
 * start, no target lesions, no baseline sum, the report says so rather than staying silent.
 */
export function hyperprogressionAtFirstScan(g: FirstScanGrowth): HyperprogressionAssessment {
  if (!g.treatmentStart) return { hyperprogression: false, undefinedBecause: 'no immunotherapy start was found' };
  if (!g.hasTargets) {
    return {
      hyperprogression: false,
      undefinedBecause: 'there are no target lesions whose growth rate can be measured',
    };
  }
  if (!g.baseline) return { hyperprogression: false, undefinedBecause: SUM_MISSING };
  return assessHyperprogression(g.preBaseline, g.baseline, g.firstOnTreatment, g.progression);
}
