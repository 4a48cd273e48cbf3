/**
 * The iRECIST state machine (Seymour et al., Lancet Oncol 2017, Tables 2-3; EORTC RECIST FAQ scenarios B and F;
 * rules.md, "iRECIST"). One step per timepoint: RECIST 1.1 category findings in, an iRECIST response out.
 */
import type { CriteriaProfile } from './criteria-profile.ts';
import { daysBetween } from './dates.ts';
import { formatMm } from './millimetres.ts';
import type { NewLesionEvaluation } from './new-lesions.ts';
import { meetsProgression, type NonTargetEvaluation, overallResponse, type TargetEvaluation } from './recist.ts';
import type { IsoDate, ProgressionCategory, RecistOverall, Tenths, TimepointResponse } from './types.ts';

/** What an iUPD is later measured against. */
export interface UpdReference {
  date: IsoDate;
  triggers: ProgressionCategory[];
  /** Sum of the target sizes measured at the iUPD (all targets, or those measured when some were missing). */
  sod?: Tenths;
  /** The target sizes `sod` adds up: later sums are taken over the same lesions, so like is compared with like. */
  targetSizes: Map<string, Tenths>;
  nltSum: Tenths;
  newCount: number;
  ntProgressing: string[];
  nlntSizes: Map<string, Tenths>;
  nlntProgressing: string[];
}

export interface IrecistState {
  /** The iUPD awaiting confirmation, if any. */
  pending?: UpdReference;
  /** iCPD reached: every later timepoint is iCPD. */
  confirmed: boolean;
  /** An iUPD was reset (pseudoprogression) and no new iUPD has followed. */
  pseudoprogression: boolean;
  /** Known new lesions when the bar was last reset; after a reset they cause iUPD only if more appear. */
  newLesionsAtReset?: number;
  /** NLT sum nadir since the last reset. */
  nltNadirSinceReset?: Tenths;
}

export const INITIAL_STATE: IrecistState = { confirmed: false, pseudoprogression: false };

export interface CategoryFindings {
  date: IsoDate;
  target: TargetEvaluation;
  nonTarget: NonTargetEvaluation;
  newLesions: NewLesionEvaluation;
  /** SOD at the previous timepoint (for EORTC scenario B). */
  previousSod?: Tenths;
}

export interface IrecistStep {
  response: TimepointResponse;
  state: IrecistState;
  /** RECIST 1.1 overall response for this timepoint (new lesions counted as RECIST 1.1 does). */
  recist: RecistOverall;
  /** Categories that triggered a new iUPD here. */
  triggers?: ProgressionCategory[];
  /** Why iCPD was confirmed here. */
  confirmedBy?: string[];
  /** The iUPD that this timepoint confirmed, reset or left pending. */
  reference?: UpdReference;
  /** True when this timepoint reset an iUPD (pseudoprogression). */
  reset?: boolean;
  /** Days since the pending iUPD. */
  daysSinceUpd?: number;
  /** Too early to confirm; or later than the maximum confirmation interval. */
  early?: boolean;
  late?: boolean;
  notes: string[];
}

const TO_IRECIST: Record<RecistOverall, TimepointResponse> = {
  CR: 'iCR',
  PR: 'iPR',
  SD: 'iSD',
  'non-CR-non-PD': 'iNN',
  NE: 'NE',
  PD: 'iUPD',
};

/** Whether new lesions amount to RECIST 1.1 progression, given what a reset already accepted. */
function newLesionProgression(state: IrecistState, nl: NewLesionEvaluation): string | undefined {
  if (state.newLesionsAtReset === undefined) {
    return nl.count > 0 && nl.present.length > 0 ? `${nl.count} new lesion(s)` : undefined;
  }
  if (nl.count > state.newLesionsAtReset) return `${nl.count - state.newLesionsAtReset} further new lesion(s)`;
  if (state.nltNadirSinceReset !== undefined && meetsProgression(nl.nltSum, state.nltNadirSinceReset)) {
    return `new-lesion target sum ${formatMm(nl.nltSum)}, at least 20% and 5 mm above its nadir`;
  }
  if (nl.nlntProgressing.length > 0) return 'unequivocal progression of a new non-target lesion';
  return undefined;
}

function referenceOf(f: CategoryFindings, triggers: ProgressionCategory[]): UpdReference {
  return {
    date: f.date,
    triggers,
    sod: f.target.sod ?? (f.target.response === 'PD' ? f.target.measuredSum : undefined),
    targetSizes: f.target.sizes,
    nltSum: f.newLesions.nltSum,
    newCount: f.newLesions.count,
    ntProgressing: f.nonTarget.progressing,
    nlntSizes: f.newLesions.nlntSizes,
    nlntProgressing: f.newLesions.nlntProgressing,
  };
}

/**
 * The target sum now over the lesions that made up the iUPD sum, or undefined when one of them is not measured.
 * With every target measured at both timepoints this is simply the SOD; when the iUPD rested on the measured
 * targets alone, a target measured again later must not count as growth.
 */
function comparableTargetSum(p: UpdReference, t: TargetEvaluation): Tenths | undefined {
  if (p.sod === undefined) return undefined;
  let total = 0;
  for (const id of p.targetSizes.keys()) {
    const size = t.sizes.get(id);
    if (size === undefined) return undefined;
    total += size;
  }
  return total;
}

/** Reasons the iUPD in `p` is confirmed at this timepoint (increases are cumulative against the reference). */
function confirmationReasons(p: UpdReference, f: CategoryFindings, earlyScan: boolean): string[] {
  const reasons: string[] = [];
  const nl = f.newLesions;
  if (nl.count > p.newCount) reasons.push(`${nl.count - p.newCount} additional new lesion(s) since iUPD`);
  if (earlyScan) return reasons;
  const has = (c: ProgressionCategory) => p.triggers.includes(c);
  const sod = comparableTargetSum(p, f.target);
  if (has('target') && sod !== undefined && p.sod !== undefined && sod - p.sod >= 50) {
    reasons.push(`sum of diameters ${formatMm(sod)}, ${formatMm(sod - p.sod)} above the iUPD sum (${formatMm(p.sod)})`);
  }
  if (has('non-target')) {
    const further =
      f.nonTarget.increased.length > 0 || f.nonTarget.progressing.some((id) => !p.ntProgressing.includes(id));
    if (further) reasons.push('further increase in non-target disease');
  }
  if (nl.nltSum - p.nltSum >= 50) {
    reasons.push(`new-lesion target sum ${formatMm(nl.nltSum)}, ${formatMm(nl.nltSum - p.nltSum)} above the iUPD sum`);
  }
  const nlntGrew =
    nl.nlntIncreased.length > 0 ||
    nl.nlntProgressing.some((id) => !p.nlntProgressing.includes(id)) ||
    [...nl.nlntSizes].some(([id, size]) => size > (p.nlntSizes.get(id) ?? Number.POSITIVE_INFINITY));
  if (nlntGrew) reasons.push('increase in a new non-target lesion');
  if (!has('target') && f.target.response === 'PD') reasons.push(`target progression newly met (${f.target.reason})`);
  if (!has('non-target') && f.nonTarget.response === 'PD') reasons.push('unequivocal non-target progression newly met');
  return reasons;
}

/** Scenario B (reset) vs scenario F (still iUPD): have the triggering categories left progression? */
function resetAllowed(p: UpdReference, f: CategoryFindings): boolean {
  const has = (c: ProgressionCategory) => p.triggers.includes(c);
  const evaluableNonPd = (r: string) => r !== 'PD' && r !== 'NE';
  if (has('target') && !evaluableNonPd(f.target.response)) return false;
  if (has('non-target') && !evaluableNonPd(f.nonTarget.response)) return false;
  if (has('new-lesion')) {
    const fallen = f.target.sod !== undefined && f.previousSod !== undefined && f.target.sod < f.previousSod;
    if (!fallen && f.newLesions.present.length > 0) return false;
  }
  return true;
}

/**
 * One iRECIST step. Pure: returns the next state rather than changing the one given.
 * @see https://doi.org/10.1016/S1470-2045(17)30074-8 (iRECIST)
 */
export function irecistStep(state: IrecistState, f: CategoryFindings, profile: CriteriaProfile): IrecistStep {
  const newPd = newLesionProgression(state, f.newLesions);
  const recist = overallResponse(
    f.target.response,
    f.nonTarget.response,
    f.newLesions.count > 0 && f.newLesions.present.length > 0 ? 'PD' : 'none',
  );
  const notes: string[] = [];
  const trackNltNadir = (s: IrecistState): IrecistState =>
    s.nltNadirSinceReset === undefined
      ? s
      : { ...s, nltNadirSinceReset: Math.min(s.nltNadirSinceReset, f.newLesions.nltSum) };

  if (state.confirmed) {
    return {
      response: 'iCPD',
      state,
      recist,
      notes: ['progression was already confirmed (iCPD); every later timepoint is iCPD'],
    };
  }

  const p = state.pending;
  if (p) {
    const days = daysBetween(p.date, f.date);
    const early = days < profile.minConfirmationDays;
    const late = days > profile.maxConfirmationDays;
    const confirmedBy = confirmationReasons(p, f, early);
    const base = { recist, reference: p, daysSinceUpd: days, early, late };
    if (confirmedBy.length > 0) {
      if (late)
        notes.push(`confirming scan ${days} days after iUPD, later than the ${profile.maxConfirmationDays}-day window`);
      return {
        ...base,
        response: 'iCPD',
        state: { ...state, pending: undefined, confirmed: true },
        confirmedBy,
        notes,
      };
    }
    if (early) {
      notes.push(
        `scan ${days} days after iUPD, before the ${profile.minConfirmationDays}-day minimum: it cannot confirm progression (except by an additional new lesion)`,
      );
      return { ...base, response: 'iUPD', state, notes };
    }
    if (!resetAllowed(p, f)) {
      notes.push(
        'no further increase, but the progression that triggered iUPD persists: iUPD continues (EORTC scenario F)',
      );
      return { ...base, response: 'iUPD', state, notes };
    }
    const table = overallResponse(f.target.response, f.nonTarget.response, 'none');
    if (table === 'NE' || table === 'PD') {
      notes.push('not evaluable: iUPD still awaits confirmation');
      return { ...base, response: 'NE', state, notes };
    }
    notes.push('the progression that triggered iUPD is no longer met: the bar is reset (pseudoprogression)');
    const reset: IrecistState = {
      confirmed: false,
      pending: undefined,
      pseudoprogression: true,
      newLesionsAtReset: f.newLesions.count,
      nltNadirSinceReset: f.newLesions.nltSum,
    };
    return { ...base, response: TO_IRECIST[table], state: reset, reset: true, notes };
  }

  const triggers: ProgressionCategory[] = [];
  if (f.target.response === 'PD') triggers.push('target');
  if (f.nonTarget.response === 'PD') triggers.push('non-target');
  if (newPd) triggers.push('new-lesion');
  if (triggers.length > 0) {
    const reference = referenceOf(f, triggers);
    return {
      response: 'iUPD',
      state: { ...state, pending: reference, pseudoprogression: false },
      recist: 'PD',
      triggers,
      reference,
      notes,
    };
  }
  const table = overallResponse(f.target.response, f.nonTarget.response, 'none');
  return { response: TO_IRECIST[table], state: trackNltNadir(state), recist, notes };
}
