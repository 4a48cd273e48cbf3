/**
 * Which lesions are targets, non-targets and new lesions (contract section 1, "Lesion roles";
 * rules.md, iRECIST: new-lesion targets NLT and non-targets NLNT).
 */
import type { CriteriaProfile } from './criteria-profile.ts';
import type { Lesion, LesionRole, Measurement, Scan, Tenths } from './types.ts';

export interface LesionRoles {
  targets: Lesion[];
  nonTargets: Lesion[];
  newLesions: Lesion[];
  /** True when at least one role was inferred rather than given by the lesion-role extension. */
  inferred: boolean;
}

/** The length that counts for a lesion: short axis for nodes, longest diameter otherwise. */
export function sizeOf(lesion: Lesion, m: Measurement | undefined): Tenths | undefined {
  if (!m) return undefined;
  return lesion.nodal ? (m.shortAxis ?? undefined) : m.longestDiameter;
}

export function isMeasurable(lesion: Lesion, size: Tenths | undefined, profile: CriteriaProfile): boolean {
  if (size === undefined) return false;
  return size >= (lesion.nodal ? profile.measurableNodeShortAxis : profile.measurableLongestDiameter);
}

/**
 * Picks at most `max` lesions, at most `perOrgan` from one organ, largest first (ties by id so the
 * result does not depend on input order).
 */
export function pickLargest(
  candidates: readonly { lesion: Lesion; size: Tenths }[],
  max: number,
  perOrgan: number,
  alreadyPicked: readonly Lesion[] = [],
): Lesion[] {
  const perOrganCount = new Map<string, number>();
  for (const l of alreadyPicked) perOrganCount.set(l.organ, (perOrganCount.get(l.organ) ?? 0) + 1);
  const picked: Lesion[] = [];
  const ordered = [...candidates].sort((a, b) => b.size - a.size || a.lesion.id.localeCompare(b.lesion.id));
  for (const { lesion } of ordered) {
    if (alreadyPicked.length + picked.length >= max) break;
    const n = perOrganCount.get(lesion.organ) ?? 0;
    if (n >= perOrgan) continue;
    perOrganCount.set(lesion.organ, n + 1);
    picked.push(lesion);
  }
  return picked;
}

const seenAt = (scan: Scan, lesionId: string): boolean =>
  scan.measurements.some((m) => m.lesionId === lesionId) || scan.qualitative.some((q) => q.lesionId === lesionId);

/**
 * Assigns roles. An explicit lesion-role wins. Otherwise: lesions measured at baseline that are measurable
 * become targets (largest first, at most 5 in all and 2 per organ, counting explicit targets); every other
 * lesion present at baseline is non-target; a lesion first seen after baseline is new.
 */
export function assignRoles(
  lesions: readonly Lesion[],
  baseline: Scan | undefined,
  profile: CriteriaProfile,
): LesionRoles {
  const byRole: Record<LesionRole, Lesion[]> = { target: [], 'non-target': [], new: [] };
  const undecided: Lesion[] = [];
  for (const lesion of lesions) {
    if (lesion.explicitRole) byRole[lesion.explicitRole].push(lesion);
    else undecided.push(lesion);
  }
  const atBaseline = undecided.filter((l) => baseline && seenAt(baseline, l.id));
  const candidates = atBaseline.flatMap((lesion) => {
    const size = sizeOf(
      lesion,
      baseline?.measurements.find((m) => m.lesionId === lesion.id),
    );
    return size !== undefined && isMeasurable(lesion, size, profile) ? [{ lesion, size }] : [];
  });
  const inferredTargets = pickLargest(candidates, profile.maxTargets, profile.maxTargetsPerOrgan, byRole.target);
  const targetIds = new Set(inferredTargets.map((l) => l.id));
  const byId = (a: Lesion, b: Lesion) => a.id.localeCompare(b.id);
  return {
    targets: [...byRole.target, ...inferredTargets].sort(byId),
    nonTargets: [...byRole['non-target'], ...atBaseline.filter((l) => !targetIds.has(l.id))].sort(byId),
    newLesions: [...byRole.new, ...undecided.filter((l) => !atBaseline.includes(l))].sort(byId),
    inferred: undecided.length > 0,
  };
}
