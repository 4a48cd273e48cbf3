/**
 * The iRECIST state machine (Seymour et al., Lancet Oncol 2017, Tables 2-3; EORTC RECIST FAQ scenarios B and F;
 * rules.md, "iRECIST"). One step per timepoint: RECIST 1.1 category findings in, an iRECIST response out. The single
 * home of iUPD, iCPD, the reset (pseudoprogression) and NE while an iUPD is pending.
 *
 * Over 350 lines on purpose: every iRECIST rule of rules.md sits in this one file, one named function each.
 */
import type { CriteriaProfile } from './criteria-profile.ts';
import { daysBetween } from './dates.ts';
import { formatMm } from './millimetres.ts';
import type { NewLesionEvaluation } from './new-lesions.ts';
import { meetsProgression, type NonTargetEvaluation, overallResponse, type TargetEvaluation } from './recist.ts';
import type { IsoDate, ProgressionCategory, RecistOverall, Tenths, TimepointResponse } from './types.ts';

/** What an iUPD is later measured against: the reference values at the iUPD timepoint (rules.md, iRECIST). */
export interface UpdReference {
  date: IsoDate;
  triggers: ProgressionCategory[];
  /** Sum of the target sizes measured at the iUPD (all targets, or those measured when some were missing). */
  sod?: Tenths;
  /** The target sizes measured at the iUPD: later sums are taken over the same lesions, so like is compared with like. */
  targetSizes: Map<string, Tenths>;
  nltSum: Tenths;
  /** The NLT sizes measured at the iUPD (compared like with like, as the target sizes). */
  nltSizes: Map<string, Tenths>;
  newCount: number;
  ntProgressing: string[];
  nlntSizes: Map<string, Tenths>;
  nlntProgressing: string[];
}

/**
 * What was seen since the pending iUPD. rules.md: "a progression seen at a scan too early to confirm is carried
 * forward", and "a non-target in unequivocal progression at any scan since the iUPD still meets" progression.
 */
export interface SinceUpd {
  /** Categories that had not triggered the iUPD and met RECIST 1.1 PD at a scan too early to confirm. */
  carried: ProgressionCategory[];
  /** Non-target lesions in unequivocal progression at any scan after the iUPD. */
  ntProgressing: string[];
}

export interface IrecistState {
  /** The iUPD awaiting confirmation, if any. */
  pending?: UpdReference;
  /** Progression seen since the pending iUPD (empty when none is pending). */
  since?: SinceUpd;
  /** iCPD reached: every later timepoint is iCPD. */
  confirmed: boolean;
  /** An iUPD was reset (pseudoprogression) and no new iUPD has followed. */
  pseudoprogression: boolean;
  /** Known new lesions when the iUPD was last reset; after a reset they cause iUPD only if more appear. */
  newLesionsAtReset?: number;
  /** The smallest NLT sum since the current new-lesion targets appeared (every one measured there). */
  nltNadir?: Tenths;
  /** The NLT set `nltNadir` is about (ids joined); a new NLT starts a new nadir. */
  nltNadirOf?: string;
}

export const INITIAL_STATE: IrecistState = { confirmed: false, pseudoprogression: false };

export interface CategoryFindings {
  date: IsoDate;
  target: TargetEvaluation;
  nonTarget: NonTargetEvaluation;
  newLesions: NewLesionEvaluation;
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
  /** Why a pending iUPD can be neither confirmed nor reset here (the timepoint is NE). */
  notEvaluable?: string[];
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

/** Every new lesion seen so far is reported gone (none seen counts too). */
const everyNewLesionGone = (nl: NewLesionEvaluation): boolean => nl.gone.length === nl.count;

/**
 * The RECIST 1.1 table without the existing new lesions (after or at a reset), where iCR needs every new lesion
 * reported gone: target CR + non-target CR with a new lesion present or unreported is iPR (iNN without targets).
 * rules.md, "Overall" and "iRECIST" (first bullet).
 */
export function immuneOverall(f: CategoryFindings): TimepointResponse {
  const table = overallResponse(f.target.response, f.nonTarget.response, 'none');
  if (table === 'CR' && !everyNewLesionGone(f.newLesions)) return f.target.response === 'none' ? 'iNN' : 'iPR';
  return TO_IRECIST[table];
}

/**
 * Whether new lesions amount to RECIST 1.1 progression, given what a reset already accepted (rules.md: after a
 * reset, existing new lesions cause a new iUPD only if further new lesions appear, the NLT sum meets PD against its
 * own nadir since those lesions appeared, or an NLNT progresses unequivocally).
 */
function newLesionProgression(state: IrecistState, nl: NewLesionEvaluation): string | undefined {
  if (state.newLesionsAtReset === undefined) {
    return nl.present.length > 0 ? `${nl.count} new lesion(s)` : undefined;
  }
  if (nl.count > state.newLesionsAtReset) return `${nl.count - state.newLesionsAtReset} further new lesion(s)`;
  const measured = [...nl.nltSizes.values()].reduce((a, b) => a + b, 0);
  if (state.nltNadir !== undefined && meetsProgression(measured, state.nltNadir)) {
    return `new-lesion target sum ${formatMm(measured)}, at least 20% and 5 mm above its smallest value (${formatMm(state.nltNadir)})`;
  }
  if (nl.nlntProgressing.length > 0) return 'unequivocal progression of a new non-target lesion';
  return undefined;
}

/**
 * The NLT sum nadir: the smallest sum since the current new-lesion targets appeared, over timepoints at which every
 * one of them was measured (rules.md: "not its value at the reset").
 */
export function trackNltNadir(state: IrecistState, nl: NewLesionEvaluation): IrecistState {
  if (nl.nltIds.length === 0) return state;
  const key = nl.nltIds.join('\u0000');
  const complete = nl.nltIds.every((id) => nl.nltSizes.has(id));
  const sum = complete ? [...nl.nltSizes.values()].reduce((a, b) => a + b, 0) : undefined;
  const previous = state.nltNadirOf === key ? state.nltNadir : undefined;
  const nltNadir = sum === undefined ? previous : previous === undefined ? sum : Math.min(previous, sum);
  if (state.nltNadirOf === key && nltNadir === state.nltNadir) return state;
  return { ...state, nltNadir, nltNadirOf: key };
}

function referenceOf(f: CategoryFindings, triggers: ProgressionCategory[]): UpdReference {
  return {
    date: f.date,
    triggers,
    sod: f.target.sod ?? (f.target.response === 'PD' ? f.target.measuredSum : undefined),
    targetSizes: f.target.sizes,
    nltSum: total(f.newLesions.nltSizes),
    nltSizes: f.newLesions.nltSizes,
    newCount: f.newLesions.count,
    ntProgressing: f.nonTarget.progressing,
    nlntSizes: f.newLesions.nlntSizes,
    nlntProgressing: f.newLesions.nlntProgressing,
  };
}

/**
 * The sum now over the lesions that made up a sum at the iUPD (like with like), counting only those measured now.
 * A lesion not reported now adds nothing, so when this alone reaches the iUPD sum + 5 mm the true sum certainly does
 * (the measured lesions alone already meet it, as RECIST 1.1 reads PD); a lesion measured later that was not in the
 * iUPD sum never counts as growth.
 */
function measuredOver(reference: ReadonlyMap<string, Tenths>, now: ReadonlyMap<string, Tenths>): Tenths {
  let total = 0;
  for (const id of reference.keys()) total += now.get(id) ?? 0;
  return total;
}

const total = (sizes: ReadonlyMap<string, Tenths>): Tenths => [...sizes.values()].reduce((a, b) => a + b, 0);

/** Change of a sum over the lesions measured both in `then` and `now` (undefined when none is). */
function changeOverCommon(then: Map<string, Tenths>, now: Map<string, Tenths>): Tenths | undefined {
  let change: Tenths | undefined;
  for (const [id, before] of then) {
    const after = now.get(id);
    if (after !== undefined) change = (change ?? 0) + after - before;
  }
  return change;
}

/** The categories that took part in the pending iUPD: its triggers, and PD carried forward from an early scan. */
const participants = (p: UpdReference, since: SinceUpd | undefined): Set<ProgressionCategory> =>
  new Set([...p.triggers, ...(since?.carried ?? [])]);

/**
 * Reasons the iUPD in `p` is confirmed at this timepoint (rules.md, iCPD bullets). Increases are measured against
 * the iUPD reference, so they add up over timepoints (+4 then +2 confirms); a scan too early to confirm can confirm
 * only by an additional new lesion.
 */
function confirmationReasons(p: UpdReference, since: SinceUpd | undefined, f: CategoryFindings, early: boolean) {
  const reasons: string[] = [];
  const nl = f.newLesions;
  if (nl.count > p.newCount) reasons.push(`${nl.count - p.newCount} additional new lesion(s) since iUPD`);
  if (early) return reasons;
  const took = participants(p, since);
  const sod = measuredOver(p.targetSizes, f.target.sizes);
  if (p.triggers.includes('target') && p.sod !== undefined && sod - p.sod >= 50) {
    const over = f.target.missing.length > 0 ? ' (the measured targets alone)' : '';
    reasons.push(
      `sum of diameters ${formatMm(sod)}${over}, ${formatMm(sod - p.sod)} above the iUPD sum (${formatMm(p.sod)})`,
    );
  }
  const newlyProgressing = f.nonTarget.progressing.filter((id) => !p.ntProgressing.includes(id));
  if (took.has('non-target') && f.nonTarget.increased.length > 0) {
    reasons.push(`further increase in non-target disease (${f.nonTarget.increased.join(', ')})`);
  } else if (newlyProgressing.length > 0) {
    reasons.push(
      p.triggers.includes('non-target')
        ? `further increase in non-target disease (${newlyProgressing.join(', ')} now in unequivocal progression)`
        : `unequivocal non-target progression newly met (${newlyProgressing.join(', ')})`,
    );
  }
  const nltGrowth = measuredOver(p.nltSizes, nl.nltSizes) - total(p.nltSizes);
  if (p.nltSizes.size > 0 && nltGrowth >= 50) {
    reasons.push(`new-lesion target sum ${formatMm(nltGrowth)} above its value at the iUPD`);
  }
  const nlntGrew =
    nl.nlntIncreased.length > 0 ||
    nl.nlntProgressing.some((id) => !p.nlntProgressing.includes(id)) ||
    [...nl.nlntSizes].some(([id, size]) => size > (p.nlntSizes.get(id) ?? Number.POSITIVE_INFINITY));
  if (nlntGrew) reasons.push('increase in a new non-target lesion');
  if (!p.triggers.includes('target') && f.target.response === 'PD') {
    reasons.push(`target progression newly met (${f.target.reason})`);
  }
  return reasons;
}

/**
 * What an early scan (or any scan that neither confirms nor resets) adds to the pending iUPD: non-target lesions in
 * unequivocal progression, and RECIST 1.1 PD in a category that had not triggered it, carried to the next scan.
 */
function progressionSinceUpd(p: UpdReference, since: SinceUpd | undefined, f: CategoryFindings): SinceUpd {
  const carried = new Set(since?.carried ?? []);
  if (!p.triggers.includes('target') && f.target.response === 'PD') carried.add('target');
  if (!p.triggers.includes('non-target') && f.nonTarget.response === 'PD') carried.add('non-target');
  return {
    carried: [...carried],
    ntProgressing: [...new Set([...(since?.ntProgressing ?? []), ...f.nonTarget.progressing])],
  };
}

type CategoryVerdict = { kind: 'left' } | { kind: 'still' } | { kind: 'not-evaluable'; why: string };

/** rules.md, reset: has the target category left progression, and can that be seen? */
function targetVerdict(f: CategoryFindings): CategoryVerdict {
  if (f.target.response === 'PD') return { kind: 'still' };
  if (f.target.response === 'NE') {
    return { kind: 'not-evaluable', why: `target lesion(s) ${f.target.missing.join(', ')} not measured` };
  }
  return { kind: 'left' };
}

/** rules.md, reset: a non-target in unequivocal progression at any scan since the iUPD still meets progression. */
function nonTargetVerdict(f: CategoryFindings, since: SinceUpd | undefined): CategoryVerdict {
  if (f.nonTarget.response === 'PD') return { kind: 'still' };
  if (f.nonTarget.response === 'NE') {
    return { kind: 'not-evaluable', why: `non-target lesion(s) ${f.nonTarget.notAssessed.join(', ')} not assessed` };
  }
  if ((since?.ntProgressing.length ?? 0) > 0) return { kind: 'still' };
  return { kind: 'left' };
}

/**
 * rules.md, reset with new lesions in the iUPD (EORTC scenario B vs F): the new-lesion category has left progression
 * when the target SOD has fallen below its value at the iUPD, compared over the targets measured at both, or when
 * every new lesion is reported gone (iRECIST Table 2, "new lesions: no"). An unreported new lesion is not evaluable.
 */
function newLesionVerdict(p: UpdReference, f: CategoryFindings): CategoryVerdict {
  const nl = f.newLesions;
  if (nl.unreported.length > 0)
    return { kind: 'not-evaluable', why: `new lesion(s) ${nl.unreported.join(', ')} not reported` };
  if (everyNewLesionGone(nl)) return { kind: 'left' };
  const fall = changeOverCommon(p.targetSizes, f.target.sizes);
  return fall !== undefined && fall < 0 ? { kind: 'left' } : { kind: 'still' };
}

/** The verdict on every category that took part in the pending iUPD. */
function categoryVerdicts(p: UpdReference, since: SinceUpd | undefined, f: CategoryFindings): CategoryVerdict[] {
  const took = participants(p, since);
  return [
    ...(took.has('target') ? [targetVerdict(f)] : []),
    ...(took.has('non-target') ? [nonTargetVerdict(f, since)] : []),
    ...(took.has('new-lesion') ? [newLesionVerdict(p, f)] : []),
  ];
}

function confirmedStep(state: IrecistState, recist: RecistOverall): IrecistStep {
  return {
    response: 'iCPD',
    state,
    recist,
    notes: ['progression was confirmed earlier (iCPD); every later timepoint stays iCPD'],
  };
}

/** With an iUPD pending: confirm (iCPD), stay iUPD (early scan, scenario F), NE (not evaluable), or reset. */
function pendingStep(
  state: IrecistState,
  p: UpdReference,
  f: CategoryFindings,
  recist: RecistOverall,
  profile: CriteriaProfile,
): IrecistStep {
  const days = daysBetween(p.date, f.date);
  const early = days < profile.minConfirmationDays;
  const late = days > profile.maxConfirmationDays;
  const base = { recist, reference: p, daysSinceUpd: days, early, late };
  const confirmedBy = confirmationReasons(p, state.since, f, early);
  if (confirmedBy.length > 0) {
    const notes = late
      ? [
          `the confirming scan came ${days} days after the iUPD, later than the ${profile.maxConfirmationDays}-day window`,
        ]
      : [];
    return {
      ...base,
      response: 'iCPD',
      state: { ...state, pending: undefined, since: undefined, confirmed: true },
      confirmedBy,
      notes,
    };
  }
  const kept: IrecistState = { ...state, since: progressionSinceUpd(p, state.since, f) };
  if (early) {
    return {
      ...base,
      response: 'iUPD',
      state: kept,
      notes: [
        `this scan came ${days} days after the iUPD of ${p.date}, before the ${profile.minConfirmationDays}-day minimum: it can confirm progression only by an additional new lesion, and cannot show that the progression has resolved`,
      ],
    };
  }
  const verdicts = categoryVerdicts(p, state.since, f);
  // A category known to be still in progression makes the timepoint iUPD (scenario F) whatever else cannot be seen,
  // as any PD is PD in RECIST 1.1; NE only when none is and one cannot be evaluated (iRECIST Table 3, sequence 8).
  const notEvaluable = verdicts.flatMap((v) => (v.kind === 'not-evaluable' ? [v.why] : []));
  if (verdicts.some((v) => v.kind === 'still')) {
    return {
      ...base,
      response: 'iUPD',
      state: kept,
      notes: [
        `no further increase, but the progression found on ${p.date} persists: still unconfirmed progression (EORTC scenario F)${notEvaluable.length > 0 ? `; not evaluable here: ${notEvaluable.join('; ')}` : ''}`,
      ],
    };
  }
  if (notEvaluable.length > 0) {
    return {
      ...base,
      response: 'NE',
      state: kept,
      notEvaluable,
      notes: [`not evaluable (${notEvaluable.join('; ')}): the iUPD of ${p.date} still awaits confirmation`],
    };
  }
  const response = immuneOverall(f);
  if (response === 'NE') {
    return {
      ...base,
      response: 'NE',
      state: kept,
      notEvaluable: ['a category is not evaluable'],
      notes: [`not evaluable: the iUPD of ${p.date} still awaits confirmation`],
    };
  }
  const reset: IrecistState = {
    ...state,
    pending: undefined,
    since: undefined,
    pseudoprogression: true,
    newLesionsAtReset: f.newLesions.count,
  };
  return {
    ...base,
    response,
    state: reset,
    reset: true,
    notes: [
      `the progression found on ${p.date} is no longer present: the response is assessed again against baseline and nadir (iRECIST reset)`,
    ],
  };
}

/** No iUPD pending: RECIST 1.1 PD in any category gives iUPD (with its reference), else the RECIST 1.1 table. */
function openStep(state: IrecistState, f: CategoryFindings, recist: RecistOverall): IrecistStep {
  const triggers: ProgressionCategory[] = [];
  if (f.target.response === 'PD') triggers.push('target');
  if (f.nonTarget.response === 'PD') triggers.push('non-target');
  if (newLesionProgression(state, f.newLesions)) triggers.push('new-lesion');
  if (triggers.length > 0) {
    const reference = referenceOf(f, triggers);
    return {
      response: 'iUPD',
      state: { ...state, pending: reference, since: { carried: [], ntProgressing: [] }, pseudoprogression: false },
      recist: 'PD',
      triggers,
      reference,
      notes: [],
    };
  }
  return { response: immuneOverall(f), state, recist, notes: [] };
}

/**
 * One iRECIST step. Pure: returns the next state rather than changing the one given.
 * @see https://doi.org/10.1016/S1470-2045(17)30074-8 (iRECIST)
 */
export function irecistStep(state: IrecistState, f: CategoryFindings, profile: CriteriaProfile): IrecistStep {
  const recist = overallResponse(
    f.target.response,
    f.nonTarget.response,
    f.newLesions.present.length > 0 ? 'PD' : 'none',
  );
  if (state.confirmed) return confirmedStep(state, recist);
  const step = state.pending ? pendingStep(state, state.pending, f, recist, profile) : openStep(state, f, recist);
  return { ...step, state: trackNltNadir(step.state, f.newLesions) };
}
