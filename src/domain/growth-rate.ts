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
  /** Why it is undefined, when it is. */
  undefinedBecause?: string;
}

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
  if (!preBaseline) return { tgrExperimental, hyperprogression: false, undefinedBecause: 'no pre-baseline scan' };
  const tgrReference = tumourGrowthRate(preBaseline, baseline);
  const deltaTgr =
    tgrReference !== undefined && tgrExperimental !== undefined ? tgrExperimental - tgrReference : undefined;
  const base = { tgrReference, tgrExperimental, deltaTgr };
  if (tgrReference === undefined || tgrExperimental === undefined) {
    return { ...base, hyperprogression: false, undefinedBecause: 'a sum of diameters is missing or zero' };
  }
  if (tgrReference <= 0) {
    return { ...base, hyperprogression: false, undefinedBecause: 'the tumour was not growing before treatment' };
  }
  const ratio = tgrExperimental / tgrReference;
  return { ...base, ratio, hyperprogression: progression && ratio >= 2 };
}
