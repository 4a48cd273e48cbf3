/**
 * iRECIST new lesions (Seymour 2017, Table 2): kept apart from the baseline sum; measurable ones at first
 * sight are new-lesion targets (NLT, at most 5, 2 per organ), the rest new-lesion non-targets (NLNT).
 */
import type { CriteriaProfile } from './criteria-profile.ts';
import { isMeasurable, pickLargest, sizeOf } from './lesion-roles.ts';
import { qualitativeState } from './recist.ts';
import type { Lesion, Scan, Tenths } from './types.ts';

export interface NewLesionClasses {
  /** Lesion id -> date first seen. */
  firstSeen: Map<string, string>;
  targets: Lesion[];
  nonTargets: Lesion[];
}

const isPresentAt = (lesion: Lesion, scan: Scan, profile: CriteriaProfile): boolean => {
  const s = qualitativeState(lesion, scan, profile);
  return s !== undefined && s !== 'absent';
};

/**
 * Classifies new lesions once over the whole timeline: NLT are picked at each lesion's first sighting,
 * scan by scan in date order, so a later larger lesion never displaces an earlier NLT.
 */
export function classifyNewLesions(
  newLesions: readonly Lesion[],
  timepoints: readonly Scan[],
  profile: CriteriaProfile,
): NewLesionClasses {
  const firstSeen = new Map<string, string>();
  const targets: Lesion[] = [];
  for (const scan of timepoints) {
    const appearing = newLesions.filter((l) => !firstSeen.has(l.id) && isPresentAt(l, scan, profile));
    for (const l of appearing) firstSeen.set(l.id, scan.date);
    const candidates = appearing.flatMap((lesion) => {
      const size = sizeOf(
        lesion,
        scan.measurements.find((m) => m.lesionId === lesion.id),
      );
      return size !== undefined && isMeasurable(lesion, size, profile) ? [{ lesion, size }] : [];
    });
    targets.push(...pickLargest(candidates, profile.maxTargets, profile.maxTargetsPerOrgan, targets));
  }
  const targetIds = new Set(targets.map((l) => l.id));
  const nonTargets = newLesions.filter((l) => firstSeen.has(l.id) && !targetIds.has(l.id));
  return { firstSeen, targets, nonTargets };
}

export interface NewLesionEvaluation {
  /** Distinct new lesions seen up to and including this scan. */
  count: number;
  /** New lesions present at this scan. */
  present: string[];
  /** New lesions seen before that this scan does not report: not assessed, never taken as gone (rules.md, iRECIST). */
  unreported: string[];
  /** New lesions reported gone at this scan (status absent, or 0 mm). */
  gone: string[];
  /** New lesions first seen at this scan. */
  appeared: string[];
  /** The new-lesion targets (NLT) seen up to and including this scan. */
  nltIds: string[];
  /**
   * Sum of NLT sizes at this scan; undefined when a NLT seen before is not reported here (its size is not known, and
   * an assumed size must not be shown as a measurement).
   */
  nltSum?: Tenths;
  /** NLT sizes measured at this scan (0 when reported gone): what decisions compare, like with like. */
  nltSizes: Map<string, Tenths>;
  /** NLNT sizes measured at this scan (for "any NLNT increase"). */
  nlntSizes: Map<string, Tenths>;
  /** NLNT reported in unequivocal progression at this scan. */
  nlntProgressing: string[];
  /** NLNT reported as further increased (unequivocal or not) at this scan. */
  nlntIncreased: string[];
}

/** The size a new-lesion target counts at a scan: 0 when reported gone, 5 mm when too small to measure. */
function nltSize(lesion: Lesion, scan: Scan, profile: CriteriaProfile): Tenths | undefined {
  const m = scan.measurements.find((x) => x.lesionId === lesion.id);
  if (m?.tooSmallToMeasure) return profile.tooSmallToMeasure;
  const size = sizeOf(lesion, m);
  if (size !== undefined) return size;
  return scan.qualitative.find((x) => x.lesionId === lesion.id)?.state === 'absent' ? 0 : undefined;
}

/**
 * The new-lesion category at one scan. A new lesion the scan does not report is `unreported` (not assessed), never
 * gone: it has disappeared only when reported absent or 0 mm (rules.md, iRECIST, first bullet).
 */
export function evaluateNewLesions(
  classes: NewLesionClasses,
  scan: Scan,
  profile: CriteriaProfile,
): NewLesionEvaluation {
  const seen = [...classes.firstSeen].filter(([, date]) => date <= scan.date).map(([id]) => id);
  const seenSet = new Set(seen);
  const present: string[] = [];
  const unreported: string[] = [];
  const gone: string[] = [];
  for (const l of [...classes.targets, ...classes.nonTargets]) {
    if (!seenSet.has(l.id)) continue;
    const s = qualitativeState(l, scan, profile);
    if (s === undefined) unreported.push(l.id);
    else if (s === 'absent') gone.push(l.id);
    else present.push(l.id);
  }
  const appeared = seen.filter((id) => classes.firstSeen.get(id) === scan.date);
  const nltIds: string[] = [];
  const nltSizes = new Map<string, Tenths>();
  let nltSum: Tenths | undefined = 0;
  for (const l of classes.targets) {
    if (!seenSet.has(l.id)) continue;
    nltIds.push(l.id);
    const size = nltSize(l, scan, profile);
    if (size !== undefined) nltSizes.set(l.id, size);
    nltSum = size === undefined || nltSum === undefined ? undefined : nltSum + size;
  }
  const nlntSizes = new Map<string, Tenths>();
  const nlntProgressing: string[] = [];
  const nlntIncreased: string[] = [];
  for (const l of classes.nonTargets) {
    if (!seenSet.has(l.id)) continue;
    const size = sizeOf(
      l,
      scan.measurements.find((m) => m.lesionId === l.id),
    );
    if (size !== undefined) nlntSizes.set(l.id, size);
    const s = qualitativeState(l, scan, profile);
    if (s === 'unequivocal-progression') nlntProgressing.push(l.id);
    if (s === 'increased') nlntIncreased.push(l.id);
  }
  return {
    count: seen.length,
    present,
    unreported,
    gone,
    appeared,
    nltIds,
    nltSum,
    nltSizes,
    nlntSizes,
    nlntProgressing,
    nlntIncreased,
  };
}
