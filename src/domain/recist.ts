/**
 * RECIST 1.1 per timepoint: target, non-target and new-lesion categories and the overall response table
 * (rules.md, "RECIST 1.1 per timepoint"; Eisenhauer et al. 2009, Tables 1-2; EORTC RECIST FAQ).
 * All comparisons are integer comparisons on tenths of a millimetre.
 */
import type { CriteriaProfile } from './criteria-profile.ts';
import { sizeOf } from './lesion-roles.ts';
import type {
  Lesion,
  NewLesionResponse,
  NonTargetResponse,
  QualitativeState,
  RecistOverall,
  Scan,
  TargetResponse,
  Tenths,
} from './types.ts';

export interface TargetEvaluation {
  response: TargetResponse;
  /** Sum of diameters; undefined when a target was not measured. */
  sod?: Tenths;
  /** Sum over the targets that were measured. */
  measuredSum: Tenths;
  /** Target lesion ids without a measurement at this scan. */
  missing: string[];
  /** Size that counted per target lesion (missing ones absent). */
  sizes: Map<string, Tenths>;
  /** Why the response is what it is, in plain words. */
  reason: string;
}

export interface TargetContext {
  baselineSod: Tenths;
  nadirSod: Tenths;
  /**
   * Target PR or CR has been reached and no target PD since: the target response stays at least PR until PD
   * (rules.md, "Once PR or CR has been reached"; EORTC FAQ: 100 -> 70 -> 80 is PR, PR).
   */
  responseHeld: boolean;
  /** After an overall CR: a target node back to >= 10 mm or a reappearing non-nodal target is progression. */
  afterCompleteResponse: boolean;
}

/** SOD >= nadir x 1.2 AND SOD - nadir >= 5 mm. */
export function meetsProgression(sod: Tenths, nadir: Tenths): boolean {
  return sod * 10 >= nadir * 12 && sod - nadir >= 50;
}

/** SOD <= baseline x 0.7 (a decrease of at least 30%). */
export function meetsPartialResponse(sod: Tenths, baseline: Tenths): boolean {
  return sod * 10 <= baseline * 7;
}

/** The size a target lesion counts at one scan: 0 when gone, 5 mm when too small to measure. */
export function targetSize(lesion: Lesion, scan: Scan, profile: CriteriaProfile): Tenths | undefined {
  const m = scan.measurements.find((x) => x.lesionId === lesion.id);
  if (m?.tooSmallToMeasure) return profile.tooSmallToMeasure;
  const size = sizeOf(lesion, m);
  if (size !== undefined) return size;
  const q = scan.qualitative.find((x) => x.lesionId === lesion.id);
  return q?.state === 'absent' ? 0 : undefined;
}

export function evaluateTargets(
  targets: readonly Lesion[],
  scan: Scan,
  ctx: TargetContext,
  profile: CriteriaProfile,
): TargetEvaluation {
  const sizes = new Map<string, Tenths>();
  const missing: string[] = [];
  for (const lesion of targets) {
    const size = targetSize(lesion, scan, profile);
    if (size === undefined) missing.push(lesion.id);
    else sizes.set(lesion.id, size);
  }
  const measuredSum = [...sizes.values()].reduce((a, b) => a + b, 0);
  const base = { measuredSum, missing, sizes };
  if (targets.length === 0) return { ...base, response: 'none', reason: 'no target lesions' };
  // After CR, one measured target that is back is progression, whether or not the others were measured.
  const regrown = targets.some((l) => {
    const size = sizes.get(l.id);
    return size !== undefined && (l.nodal ? size >= profile.normalNodeShortAxis : size > 0);
  });
  const afterCrProgression = {
    response: 'PD' as const,
    reason: 'a target reappeared or a target node grew back to 10 mm or more after complete response',
  };
  if (missing.length > 0) {
    if (ctx.afterCompleteResponse && regrown) return { ...base, ...afterCrProgression };
    if (meetsProgression(measuredSum, ctx.nadirSod)) {
      return {
        ...base,
        response: 'PD',
        reason: 'the measured targets alone meet progression (+20% and +5 mm over nadir)',
      };
    }
    return { ...base, response: 'NE', reason: `${missing.length} target lesion(s) not measured` };
  }
  const sod = measuredSum;
  const all = { ...base, sod };
  const nonNodalGone = targets.every((l) => l.nodal || sizes.get(l.id) === 0);
  const nodesNormal = targets.every((l) => !l.nodal || (sizes.get(l.id) ?? 0) < profile.normalNodeShortAxis);
  if (ctx.afterCompleteResponse && regrown) return { ...all, ...afterCrProgression };
  if (meetsProgression(sod, ctx.nadirSod)) {
    return { ...all, response: 'PD', reason: 'sum of diameters at least 20% and 5 mm above nadir' };
  }
  if (nonNodalGone && nodesNormal) {
    return {
      ...all,
      response: 'CR',
      reason: 'all non-nodal targets gone and every target node under 10 mm short axis',
    };
  }
  if (meetsPartialResponse(sod, ctx.baselineSod)) {
    return { ...all, response: 'PR', reason: 'sum of diameters at least 30% below baseline' };
  }
  if (ctx.responseHeld) {
    return {
      ...all,
      response: 'PR',
      reason: 'a partial or complete response, once reached, holds as at least partial response until progression',
    };
  }
  return { ...all, response: 'SD', reason: 'neither 30% below baseline nor 20% and 5 mm above nadir' };
}

/** The state of one non-measured lesion at a scan: its qualitative assessment, or what its measurement says. */
export function qualitativeState(lesion: Lesion, scan: Scan, profile: CriteriaProfile): QualitativeState | undefined {
  const q = scan.qualitative.find((x) => x.lesionId === lesion.id);
  if (q) return q.state;
  const m = scan.measurements.find((x) => x.lesionId === lesion.id);
  if (!m) return undefined;
  if (m.tooSmallToMeasure) return 'present';
  const size = sizeOf(lesion, m) ?? m.longestDiameter;
  if (size === undefined) return undefined;
  const gone = lesion.nodal ? size < profile.normalNodeShortAxis : size === 0;
  return gone ? 'absent' : 'present';
}

export interface NonTargetEvaluation {
  response: NonTargetResponse;
  states: Map<string, QualitativeState | undefined>;
  /** Lesions in unequivocal progression at this scan (RECIST 1.1 non-target PD). */
  progressing: string[];
  /** Lesions reported as further increased since the previous assessment (not progression by itself). */
  increased: string[];
  /** Lesions this scan does not report: not assessed, never taken as gone (rules.md, iRECIST). */
  notAssessed: string[];
}

/**
 * Non-target: all absent = CR; any unequivocal progression = PD; any not assessed = NE; else non-CR/non-PD.
 * A lesion reported as `increased` is not RECIST 1.1 progression by itself (rules.md, "Non-target"): the category
 * stays non-PD here, the increase is listed in `increased`, and it confirms an iUPD in which non-target disease took
 * part, or a non-target progression already seen (irecist.ts). Reports show it as an increase, never as non-CR/non-PD.
 */
export function evaluateNonTargets(
  nonTargets: readonly Lesion[],
  scan: Scan,
  profile: CriteriaProfile,
): NonTargetEvaluation {
  const states = new Map(nonTargets.map((l) => [l.id, qualitativeState(l, scan, profile)] as const));
  const values = [...states.values()];
  const progressing = [...states].filter(([, s]) => s === 'unequivocal-progression').map(([id]) => id);
  const increased = [...states].filter(([, s]) => s === 'increased').map(([id]) => id);
  const notAssessed = [...states].filter(([, s]) => s === undefined).map(([id]) => id);
  const response: NonTargetResponse =
    nonTargets.length === 0
      ? 'none'
      : progressing.length > 0
        ? 'PD'
        : notAssessed.length > 0
          ? 'NE'
          : values.every((s) => s === 'absent')
            ? 'CR'
            : 'non-CR-non-PD';
  return { response, states, progressing, increased, notAssessed };
}

/**
 * The RECIST 1.1 overall response table (Eisenhauer 2009, Tables 1 and 2; rules.md "Overall").
 * Non-target disease only: CR, non-CR/non-PD, NE or PD.
 */
export function overallResponse(
  target: TargetResponse,
  nonTarget: NonTargetResponse,
  newLesions: NewLesionResponse,
): RecistOverall {
  if (target === 'PD' || nonTarget === 'PD' || newLesions === 'PD') return 'PD';
  if (target === 'none') {
    if (nonTarget === 'CR') return 'CR';
    if (nonTarget === 'non-CR-non-PD') return 'non-CR-non-PD';
    return 'NE';
  }
  if (target === 'CR') return nonTarget === 'CR' || nonTarget === 'none' ? 'CR' : 'PR';
  if (target === 'PR') return 'PR';
  if (target === 'SD') return 'SD';
  return 'NE';
}
