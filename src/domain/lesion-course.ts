/**
 * Each lesion at one timepoint: its role, site, baseline, own nadir, current value or state, and whether it is
 * progressing or growing (rules.md, last bullet: "A lesion progresses when ..."). The report's lesion table and the
 * oligoprogression pattern (interpretation.ts) read it.
 */
import type { CriteriaProfile } from './criteria-profile.ts';
import type { LesionRoles } from './lesion-roles.ts';
import type { NewLesionClasses, NewLesionEvaluation } from './new-lesions.ts';
import { meetsProgression, type NonTargetEvaluation, qualitativeState, type TargetEvaluation } from './recist.ts';
import type { IsoDate, Lesion, QualitativeState, Scan, Tenths } from './types.ts';

export type LesionCourseRole = 'target' | 'non-target' | 'new-target' | 'new-non-target';

export interface LesionCourse {
  id: string;
  role: LesionCourseRole;
  site?: string;
  nodal: boolean;
  /** Size at baseline (targets), in tenths of a millimetre. */
  baseline?: Tenths;
  /** State at baseline (non-targets). */
  baselineState?: QualitativeState;
  /** The date a new lesion was first seen. */
  firstSeen?: IsoDate;
  /** Smallest size before this timepoint (targets since baseline, new-lesion targets since first seen). */
  nadir?: Tenths;
  /** Size at this timepoint, when measured. */
  current?: Tenths;
  /** State at this timepoint, when reported (non-targets and new non-targets; measured lesions are derived). */
  state?: QualitativeState;
  /** The lesion was measured or reported at this timepoint. */
  assessed: boolean;
  /** rules.md: a target or NLT >= 20% and >= 5 mm over its own nadir; a (new) non-target in unequivocal progression; a new lesion appearing here. */
  progressing: boolean;
  /** Larger than at its own nadir (non-target: increased or in unequivocal progression; a new lesion appearing). */
  growing: boolean;
}

const grew = (state: QualitativeState | undefined): boolean =>
  state === 'increased' || state === 'unequivocal-progression';

export interface LesionCourseInput {
  roles: LesionRoles;
  newClasses: NewLesionClasses;
  scan: Scan;
  baseline?: Scan;
  baselineSizes: ReadonlyMap<string, Tenths>;
  /** Each lesion's smallest size before this timepoint. */
  nadirs: ReadonlyMap<string, Tenths>;
  target: TargetEvaluation;
  nonTarget: NonTargetEvaluation;
  newLesions: NewLesionEvaluation;
  profile: CriteriaProfile;
}

function measured(l: Lesion, role: LesionCourseRole, current: Tenths | undefined, nadir: Tenths | undefined) {
  const progressing = current !== undefined && nadir !== undefined && meetsProgression(current, nadir);
  const growing = current !== undefined && nadir !== undefined && current > nadir;
  return {
    id: l.id,
    role,
    site: l.site,
    nodal: l.nodal,
    nadir,
    current,
    assessed: current !== undefined,
    progressing,
    growing,
  };
}

/** Every target, non-target and new lesion seen so far, at one timepoint. */
export function lesionCourses(i: LesionCourseInput): LesionCourse[] {
  const rows: LesionCourse[] = [];
  for (const l of i.roles.targets) {
    rows.push({
      ...measured(l, 'target', i.target.sizes.get(l.id), i.nadirs.get(l.id)),
      baseline: i.baselineSizes.get(l.id),
    });
  }
  for (const l of i.roles.nonTargets) {
    const state = i.nonTarget.states.get(l.id);
    rows.push({
      id: l.id,
      role: 'non-target',
      site: l.site,
      nodal: l.nodal,
      baselineState: i.baseline ? qualitativeState(l, i.baseline, i.profile) : undefined,
      state,
      assessed: state !== undefined,
      progressing: state === 'unequivocal-progression',
      growing: grew(state),
    });
  }
  const appeared = new Set(i.newLesions.appeared);
  for (const l of i.newClasses.targets) {
    const firstSeen = i.newClasses.firstSeen.get(l.id);
    if (firstSeen === undefined || firstSeen > i.scan.date) continue;
    const row = measured(l, 'new-target', i.newLesions.nltSizes.get(l.id), i.nadirs.get(l.id));
    const isNew = appeared.has(l.id);
    rows.push({ ...row, firstSeen, progressing: row.progressing || isNew, growing: row.growing || isNew });
  }
  for (const l of i.newClasses.nonTargets) {
    const firstSeen = i.newClasses.firstSeen.get(l.id);
    if (firstSeen === undefined || firstSeen > i.scan.date) continue;
    const state = qualitativeState(l, i.scan, i.profile);
    const isNew = appeared.has(l.id);
    rows.push({
      id: l.id,
      role: 'new-non-target',
      site: l.site,
      nodal: l.nodal,
      firstSeen,
      current: i.newLesions.nlntSizes.get(l.id),
      state,
      assessed: state !== undefined,
      progressing: isNew || state === 'unequivocal-progression',
      growing: isNew || grew(state),
    });
  }
  return rows;
}
