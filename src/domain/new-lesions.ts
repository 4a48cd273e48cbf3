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
  /** Sum of NLT sizes at this scan (a NLT not measured counts its last known size). */
  nltSum: Tenths;
  /** NLNT sizes measured at this scan (for "any NLNT increase"). */
  nlntSizes: Map<string, Tenths>;
  /** NLNT reported in unequivocal progression at this scan. */
  nlntProgressing: string[];
  /** NLNT reported as further increased (unequivocal or not) at this scan. */
  nlntIncreased: string[];
}

export function evaluateNewLesions(
  classes: NewLesionClasses,
  scan: Scan,
  lastNltSizes: Map<string, Tenths>,
  profile: CriteriaProfile,
): NewLesionEvaluation {
  const seen = [...classes.firstSeen].filter(([, date]) => date <= scan.date).map(([id]) => id);
  const seenSet = new Set(seen);
  const present = [...classes.targets, ...classes.nonTargets]
    .filter((l) => seenSet.has(l.id) && isPresentAt(l, scan, profile))
    .map((l) => l.id);
  let nltSum = 0;
  for (const l of classes.targets) {
    if (!seenSet.has(l.id)) continue;
    const m = scan.measurements.find((x) => x.lesionId === l.id);
    const q = scan.qualitative.find((x) => x.lesionId === l.id);
    const size = m?.tooSmallToMeasure
      ? profile.tooSmallToMeasure
      : (sizeOf(l, m) ?? (q?.state === 'absent' ? 0 : undefined));
    const counted = size ?? lastNltSizes.get(l.id) ?? 0;
    lastNltSizes.set(l.id, counted);
    nltSum += counted;
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
  return { count: seen.length, present, nltSum, nlntSizes, nlntProgressing, nlntIncreased };
}
