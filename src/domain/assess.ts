/**
 * Assesses one patient's whole history: timeline -> roles -> per timepoint the RECIST 1.1 categories, the iRECIST
 * step (irecist.ts) and the RECIST carry-forward step (recist-carry-forward.ts) -> status, evidence and the one next
 * step. Pure and deterministic: the same record always gives the same assessment, whatever the order of its lesions,
 * scans or measurements.
 */
import { type CriteriaProfile, criteriaFor } from './criteria-profile.ts';
import { inOneUnit } from './evidence.ts';
import { type HyperprogressionAssessment, hyperprogressionAtFirstScan } from './growth-rate.ts';
import { INITIAL_STATE, type IrecistState, type IrecistStep, irecistStep } from './irecist.ts';
import { assignRoles, type LesionRoles } from './lesion-roles.ts';
import { classifyNewLesions, evaluateNewLesions } from './new-lesions.ts';
import { evaluateNonTargets, evaluateTargets, type TargetEvaluation, targetSize } from './recist.ts';
import { carryForward, initialCarry, type RecistCarry, targetContext } from './recist-carry-forward.ts';
import { patientStatus } from './status.ts';
import { buildTimeline, type Timeline } from './timeline.ts';
import { type TimepointAssessment, timepointAssessment, timepointIssues } from './timepoint-assessment.ts';
import type {
  DataQualityIssue,
  IsoDate,
  Lesion,
  PatientRecord,
  PatientStatus,
  Scan,
  Tenths,
  TimepointResponse,
} from './types.ts';

export type { TimepointAssessment } from './timepoint-assessment.ts';

export interface Assessment {
  patientId: string;
  profile: CriteriaProfile;
  treatmentStart?: IsoDate;
  /** The immunotherapy drugs given, by generic name, in order of first administration (then name). */
  drugs: string[];
  baseline?: Scan;
  preBaseline?: Scan;
  roles: LesionRoles;
  baselineSod?: Tenths;
  timepoints: TimepointAssessment[];
  status?: PatientStatus;
  /** Issues that concern the whole record (mapping problems, timeline, roles). */
  issues: DataQualityIssue[];
}

/** A lesion named for a clinician: its id (without a "BodyStructure/" prefix) and, when known, its site. */
export const lesionName = (l: Lesion | undefined, id: string): string => {
  const name = id.startsWith('BodyStructure/') ? id.slice('BodyStructure/'.length) : id;
  return l?.site ? `${name} (${l.site})` : name;
};

/** Each target's size at a scan (targets without one left out). */
function targetSizesAt(scan: Scan | undefined, roles: LesionRoles, profile: CriteriaProfile): Map<string, Tenths> {
  const sizes = new Map<string, Tenths>();
  if (!scan) return sizes;
  for (const l of roles.targets) {
    const size = targetSize(l, scan, profile);
    if (size !== undefined) sizes.set(l.id, size);
  }
  return sizes;
}

/** The SOD at a scan, or undefined when a target was not measured there. */
function sodOf(sizes: Map<string, Tenths>, roles: LesionRoles): Tenths | undefined {
  if (roles.targets.length === 0 || sizes.size < roles.targets.length) return undefined;
  return [...sizes.values()].reduce((a, b) => a + b, 0);
}

/** Issues about the record as a whole: mapping, timeline, roles, baseline. */
function recordIssues(record: PatientRecord, timeline: Timeline, roles: LesionRoles, baselineSod?: Tenths) {
  const issues: DataQualityIssue[] = [...record.issues, ...timeline.issues];
  if (roles.inferred) {
    issues.push({
      code: 'roles-inferred',
      text: 'Lesion roles were inferred (no lesion-role extension): measurable baseline lesions became targets, largest first, at most 5 and 2 per organ.',
    });
  }
  if (timeline.baseline && roles.targets.length > 0 && baselineSod === undefined) {
    issues.push({
      code: 'baseline-target-unmeasured',
      text: 'A target lesion has no baseline measurement; target responses cannot be evaluated.',
      date: timeline.baseline.date,
    });
  }
  if (timeline.baseline && roles.targets.length === 0 && roles.nonTargets.length === 0) {
    issues.push({
      code: 'no-baseline-lesions',
      text: 'No lesion was recorded at baseline; responses cannot be evaluated.',
      date: timeline.baseline.date,
    });
  }
  return issues;
}

/** rules.md, "Hyperprogression": judged at the first on-treatment iUPD; it stays until a reset. */
function hyperprogressionNow(
  previous: HyperprogressionAssessment | undefined,
  step: IrecistStep,
  judgeFirst: () => HyperprogressionAssessment,
  index: number,
): HyperprogressionAssessment | undefined {
  if (index === 0 && step.triggers) return judgeFirst();
  return previous && (step.state.pending || step.state.confirmed) ? previous : undefined;
}

interface Walk {
  state: IrecistState;
  carry: RecistCarry;
  hyperprogression?: HyperprogressionAssessment;
  responses: TimepointResponse[];
  scanDates: IsoDate[];
}

/**
 * Assesses every post-baseline timepoint of a patient.
 * @see ../../../shared/design/rules.md
 */
export function assessPatient(record: PatientRecord): Assessment {
  const profile = criteriaFor(record.species);
  const timeline = buildTimeline(record.scans, record.doses, profile);
  const roles = assignRoles(record.lesions, timeline.baseline, profile);
  const baselineSizes = targetSizesAt(timeline.baseline, roles, profile);
  const baselineSod = sodOf(baselineSizes, roles);
  const issues = recordIssues(record, timeline, roles, baselineSod);
  const ctdna = inOneUnit('ctDNA', record.ctdna);
  const markerSeries = record.markers.map((m) => ({ name: m.name, ...inOneUnit(m.name, m.values) }));
  issues.push(...ctdna.issues, ...markerSeries.flatMap((m) => m.issues));
  const markers = markerSeries.map((m) => ({ name: m.name, values: m.values }));
  const newClasses = classifyNewLesions(roles.newLesions, timeline.timepoints, profile);
  const byId = new Map(record.lesions.map((l) => [l.id, l] as const));
  const names = (ids: readonly string[]) => ids.map((id) => lesionName(byId.get(id), id)).join(', ');
  const preSizes = targetSizesAt(timeline.preBaseline, roles, profile);
  const preSod = sodOf(preSizes, roles);

  const walk: Walk = {
    state: INITIAL_STATE,
    carry: initialCarry(baselineSod, baselineSizes),
    responses: [],
    scanDates: [],
  };
  const timepoints = timeline.timepoints.map((scan, index): TimepointAssessment => {
    const target: TargetEvaluation =
      baselineSod === undefined && roles.targets.length > 0
        ? {
            response: 'NE',
            measuredSum: 0,
            missing: roles.targets.map((l) => l.id),
            sizes: new Map(),
            reason: 'no baseline sum of diameters',
          }
        : evaluateTargets(roles.targets, scan, targetContext(walk.carry), profile);
    const nonTarget = evaluateNonTargets(roles.nonTargets, scan, profile);
    const newLesions = evaluateNewLesions(newClasses, scan, profile);
    const findings = { date: scan.date, target, nonTarget, newLesions };
    const step = irecistStep(walk.state, findings, profile);
    walk.hyperprogression = hyperprogressionNow(
      walk.hyperprogression,
      step,
      () =>
        hyperprogressionAtFirstScan({
          treatmentStart: timeline.treatmentStart,
          preBaseline:
            timeline.preBaseline && preSod !== undefined ? { date: timeline.preBaseline.date, sod: preSod } : undefined,
          baseline:
            timeline.baseline && baselineSod !== undefined
              ? { date: timeline.baseline.date, sod: baselineSod }
              : undefined,
          firstOnTreatment: target.sod !== undefined ? { date: scan.date, sod: target.sod } : undefined,
          progression: true,
          hasTargets: roles.targets.length > 0,
        }),
      index,
    );
    const status = patientStatus(step.response, step.state, walk.hyperprogression?.hyperprogression === true);
    walk.scanDates.push(scan.date);
    const tp = timepointAssessment({
      scan,
      index,
      timeline,
      profile,
      roles,
      newClasses,
      baselineSizes,
      carry: walk.carry,
      findings,
      step,
      status,
      hyperprogression: walk.hyperprogression,
      previousResponses: walk.responses,
      wasConfirmed: walk.state.confirmed,
      scanDates: walk.scanDates,
      evidence: { ctdna: ctdna.values, ecog: record.ecog, markers },
      issues: timepointIssues(scan, names, findings, step, baselineSod, profile),
      names,
    });
    walk.carry = carryForward(walk.carry, target, newLesions, step.response, step.state.pending !== undefined);
    walk.state = step.state;
    walk.responses.push(step.response);
    return tp;
  });

  return {
    patientId: record.patientId,
    profile,
    treatmentStart: timeline.treatmentStart,
    // By first administration, then name: the same for any order of the input.
    drugs: [
      ...new Set(
        [...record.doses]
          .sort((a, b) => a.date.localeCompare(b.date) || a.drug.localeCompare(b.drug))
          .map((d) => d.drug),
      ),
    ],
    baseline: timeline.baseline,
    preBaseline: timeline.preBaseline,
    roles,
    baselineSod,
    timepoints,
    status: timepoints.at(-1)?.status,
    issues,
  };
}
