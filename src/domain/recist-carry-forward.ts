/**
 * What RECIST 1.1 carries from one timepoint to the next (rules.md, "RECIST 1.1 per timepoint"): the nadir, the
 * target response held after PR or CR, the state after an overall CR, and each lesion's own smallest size. One
 * function per rule, beside irecistStep (irecist.ts), which carries the iRECIST state.
 */
import type { NewLesionEvaluation } from './new-lesions.ts';
import type { TargetContext, TargetEvaluation } from './recist.ts';
import type { Tenths, TimepointResponse } from './types.ts';

export interface RecistCarry {
  baselineSod?: Tenths;
  /** The smallest SOD so far (baseline included) at a timepoint where every target was measured. */
  nadirSod?: Tenths;
  /** Target PR or CR reached and no target PD since. */
  responseHeld: boolean;
  /** An overall CR, not yet followed by an evaluable non-CR response outside a pending iUPD. */
  afterCompleteResponse: boolean;
  /** Each target's and new-lesion target's smallest size so far (targets from baseline, NLT from first sight). */
  lesionNadirs: ReadonlyMap<string, Tenths>;
}

/** The carry at baseline: the nadir is the baseline sum, each target's nadir its baseline size. */
export function initialCarry(baselineSod: Tenths | undefined, baselineSizes: ReadonlyMap<string, Tenths>): RecistCarry {
  return {
    baselineSod,
    nadirSod: baselineSod,
    responseHeld: false,
    afterCompleteResponse: false,
    lesionNadirs: baselineSizes,
  };
}

/** What the target category of the next timepoint is measured against. */
export const targetContext = (c: RecistCarry): TargetContext => ({
  baselineSod: c.baselineSod ?? 0,
  nadirSod: c.nadirSod ?? 0,
  responseHeld: c.responseHeld,
  afterCompleteResponse: c.afterCompleteResponse,
});

/**
 * rules.md, "Nadir": the smallest SOD among baseline and earlier timepoints at which every target was measured,
 * whatever the overall response there (an NE timepoint for another reason, or an early scan, still sets it).
 */
export function nadirAfter(nadir: Tenths | undefined, target: TargetEvaluation): Tenths | undefined {
  if (target.sod === undefined) return nadir;
  return nadir === undefined || target.sod < nadir ? target.sod : nadir;
}

/** rules.md: "Once PR or CR has been reached the target response stays at least PR until PD". */
export function responseHeldAfter(held: boolean, target: TargetEvaluation): boolean {
  if (target.response === 'PD') return false;
  return held || target.response === 'PR' || target.response === 'CR';
}

/**
 * rules.md: "After an overall CR, a target node that grows back to >= 10 mm or a non-nodal target that reappears is
 * progression". That holds while the iUPD it triggered is pending, so an unchanged regrown target at the next scan
 * is still progression (scenario F), not a reset.
 */
export function afterCompleteResponseAfter(after: boolean, response: TimepointResponse, pending: boolean): boolean {
  if (response === 'iCR') return true;
  return response === 'NE' || pending ? after : false;
}

/** Each target's and NLT's own smallest size (rules.md: a lesion progresses against its own nadir). */
export function lesionNadirsAfter(
  nadirs: ReadonlyMap<string, Tenths>,
  target: TargetEvaluation,
  newLesions: NewLesionEvaluation,
): ReadonlyMap<string, Tenths> {
  let next: Map<string, Tenths> | undefined;
  const lower = (id: string, size: Tenths) => {
    const before = nadirs.get(id);
    if (before !== undefined && before <= size) return;
    next ??= new Map(nadirs);
    next.set(id, size);
  };
  for (const [id, size] of target.sizes) lower(id, size);
  for (const [id, size] of newLesions.nltSizes) lower(id, size);
  return next ?? nadirs;
}

/** The carry after one timepoint. */
export function carryForward(
  c: RecistCarry,
  target: TargetEvaluation,
  newLesions: NewLesionEvaluation,
  response: TimepointResponse,
  pending: boolean,
): RecistCarry {
  return {
    baselineSod: c.baselineSod,
    nadirSod: nadirAfter(c.nadirSod, target),
    responseHeld: responseHeldAfter(c.responseHeld, target),
    afterCompleteResponse: afterCompleteResponseAfter(c.afterCompleteResponse, response, pending),
    lesionNadirs: lesionNadirsAfter(c.lesionNadirs, target, newLesions),
  };
}
