/**
 * The DiagnosticReport conclusion, written for a clinician from one decision per timepoint: what was found (with the
 * drug, the criteria and the lesions named), which rule applied, hyperprogression and the pattern of progression,
 * the one next step with its dates (next-step-text.ts, the same sentence as the Flag's), the supporting evidence,
 * what data could not be used, and that the result was computed and not reviewed.
 */
import type { Assessment, TimepointAssessment } from '../domain/assess.ts';
import { NOT_GROWING_BEFORE } from '../domain/growth-rate.ts';
import { formatMm } from '../domain/millimetres.ts';
import type { DataQualityIssue, IsoDate } from '../domain/types.ts';
import { computedResultStatement } from './decision-support-source.ts';
import { CATEGORY_DISPLAY, nonTargetDisplay, RESPONSE_DISPLAY, STATUS_DISPLAY } from './displays.ts';
import { evidenceText } from './evidence-text.ts';
import { type LesionNamer, lesionNamer } from './lesion-names.ts';
import { nextStepText } from './next-step-text.ts';
import { MAX_ISSUE_TEXT, MAX_LINE, printable } from './printable.ts';

const pct = (v: number | undefined): string => (v === undefined ? 'n/a' : `${v > 0 ? '+' : ''}${v.toFixed(1)}%`);
const tgr = (v: number | undefined): string => (v === undefined ? 'n/a' : `${v.toFixed(1)}%/month`);
const CATEGORY_NAME = {
  target: 'target lesions',
  'non-target': 'non-target lesions',
  'new-lesion': 'new lesions',
} as const;

/** "pembrolizumab", "nivolumab and ipilimumab", or "immunotherapy". */
/** The drugs by name for a sentence. */
export function drugWords(drugs: readonly string[]): string {
  if (drugs.length === 0) return 'immunotherapy';
  return drugs.length === 1 ? drugs[0]! : `${drugs.slice(0, -1).join(', ')} and ${drugs.at(-1)}`;
}

/** Per timepoint: the date of the first iCPD, and of the iUPD most recently reset (pseudoprogression). */
interface History {
  firstConfirmed?: IsoDate;
  lastReset: (IsoDate | undefined)[];
}
const histories = new WeakMap<Assessment, History>();
function historyOf(a: Assessment): History {
  let h = histories.get(a);
  if (!h) {
    let reset: IsoDate | undefined;
    const lastReset = a.timepoints.map((t) => {
      if (t.step.reset) reset = t.step.reference?.date;
      return reset;
    });
    h = { firstConfirmed: a.timepoints.find((t) => t.response === 'iCPD')?.date, lastReset };
    histories.set(a, h);
  }
  return h;
}

function findings(tp: TimepointAssessment, names: LesionNamer): string {
  const parts: string[] = [];
  if (tp.target.sod !== undefined) {
    parts.push(
      `Sum of target diameters ${formatMm(tp.target.sod)}: ${pct(tp.changeFromBaselinePct)} from baseline (${tp.baselineSod !== undefined ? formatMm(tp.baselineSod) : 'n/a'}), ${pct(tp.changeFromNadirPct)} from the smallest sum before this scan (${tp.nadirSod !== undefined ? formatMm(tp.nadirSod) : 'n/a'}).`,
    );
  } else if (tp.target.response !== 'none') {
    parts.push(`Sum of target diameters not available: ${tp.target.reason}.`);
  }
  const t = tp.target;
  const target =
    t.response === 'NE' && t.missing.length > 0
      ? `not evaluable (${names(t.missing)} not measured)`
      : t.response === 'PR' && t.reason.includes('holds')
        ? 'partial response (a response once reached holds until progression)'
        : CATEGORY_DISPLAY[t.response];
  const nt = tp.nonTarget;
  const nonTarget =
    nt.response === 'PD'
      ? `unequivocal progression (${names(nt.progressing)})`
      : nt.increased.length > 0
        ? `${nonTargetDisplay(nt)} (${names(nt.increased)})`
        : nt.response === 'NE'
          ? `not evaluable (${names(nt.notAssessed)} not assessed)`
          : CATEGORY_DISPLAY[nt.response];
  const nl = tp.newLesions;
  const newParts = [
    nl.present.length > 0 ? `${names(nl.present)} present` : '',
    nl.gone.length > 0 ? `${names(nl.gone)} gone` : '',
    nl.unreported.length > 0 ? `${names(nl.unreported)} not reported` : '',
  ].filter(Boolean);
  parts.push(
    `Target lesions: ${target}; non-target lesions: ${nonTarget}; new lesions: ${nl.count === 0 ? 'none' : newParts.join(', ')}.`,
  );
  return parts.join(' ');
}

/** Which iRECIST rule applied at this timepoint, in plain words. */
function whatHappened(a: Assessment, tp: TimepointAssessment, names: LesionNamer): string {
  const s = tp.step;
  const since = s.reference?.date;
  switch (tp.response) {
    case 'iUPD':
      if (s.triggers) {
        return `RECIST 1.1 progression in ${s.triggers.map((c) => CATEGORY_NAME[c]).join(', ')}: unconfirmed progression (iUPD).`;
      }
      return s.early
        ? `This scan came ${s.daysSinceUpd} days after the unconfirmed progression of ${since}, before the ${a.profile.minConfirmationDays}-day minimum: it cannot confirm it (except by a further new lesion) nor show that it has resolved.`
        : `No further increase since the unconfirmed progression of ${since}, but it persists: still unconfirmed progression (iUPD, EORTC scenario F).`;
    case 'iCPD': {
      if (!s.confirmedBy)
        return `Progression was confirmed on ${historyOf(a).firstConfirmed}; it stays confirmed (iCPD).`;
      const late = s.late ? `, later than the ${a.profile.maxConfirmationDays}-day window` : '';
      return `Progression confirmed (iCPD) ${s.daysSinceUpd} days after the unconfirmed progression of ${since}${late}: ${s.confirmedBy.join('; ')}.`;
    }
    case 'NE':
      if (s.notEvaluable) {
        return `Not evaluable (${s.notEvaluable.join('; ')}): the unconfirmed progression of ${since} can be neither confirmed nor ruled out.`;
      }
      return `Not evaluable: ${names([...tp.target.missing, ...tp.nonTarget.notAssessed]) || 'a category could not be assessed'}.`;
    default:
      if (s.reset) {
        return `The unconfirmed progression of ${since} was not confirmed: the lesions that triggered it no longer meet progression, so the response is assessed again against baseline and the smallest sum (iRECIST reset). This is pseudoprogression.`;
      }
      if (tp.status === 'pseudoprogression') {
        const reset = historyOf(a).lastReset[tp.index];
        return `Pseudoprogression: the unconfirmed progression${reset ? ` of ${reset}` : ''} was not confirmed.`;
      }
      return '';
  }
}

/** Hyperprogression found, ruled out, or why it could not be assessed (rules.md, "Hyperprogression"). */
function hyperprogressionText(tp: TimepointAssessment): string {
  const h = tp.hyperprogression;
  if (!h) return '';
  const rates = `tumour growth rate ${tgr(h.tgrReference)} before treatment and ${tgr(h.tgrExperimental)} on it`;
  const delta = h.deltaTgr === undefined ? '' : `; delta TGR ${h.deltaTgr.toFixed(1)} percentage points per month`;
  if (h.hyperprogression) {
    const confirmed = tp.response === 'iCPD' ? ', now confirmed by progression (iCPD)' : '';
    return `Hyperprogression${confirmed}: ${rates}, ${h.ratio?.toFixed(1)}-fold (2-fold or more, Champiat 2017)${delta}.`;
  }
  if (h.undefinedBecause) {
    const before =
      h.undefinedBecause === NOT_GROWING_BEFORE && h.tgrReference !== undefined ? ` (${tgr(h.tgrReference)})` : '';
    return `Hyperprogression could not be assessed: ${h.undefinedBecause}${before}.`;
  }
  return `Not hyperprogression: ${rates}, ${h.ratio?.toFixed(1)}-fold (hyperprogression needs 2-fold or more)${delta}.`;
}

function patternText(tp: TimepointAssessment, names: LesionNamer): string {
  const lines: string[] = [];
  const progressing = tp.progressingLesions ?? [];
  const which = progressing.length > 0 ? `${progressing.length} lesion(s) progressing (${names(progressing)})` : '';
  if (tp.progressionPattern === 'oligoprogression') {
    lines.push(`Oligoprogression: ${which}; the rest of the disease is stable or responding.`);
  } else if (tp.progressionPattern === 'widespread') {
    const assessed = tp.lesions.filter((l) => l.assessed);
    const allGrowing = assessed.length > 0 && assessed.every((l) => l.growing);
    // One lesion is all the disease there is: "widespread" would misdescribe it, and it is not oligoprogression.
    if (assessed.length === 1) lines.push(`All assessed disease is growing (${which}): not oligoprogression.`);
    else if (allGrowing) {
      // Said first, so that a count of lesions past the thresholds does not read as the extent of the progression.
      const past = which ? `; ${which}` : '';
      lines.push(
        `Widespread progression: ${assessed.length === 2 ? 'both' : `all ${assessed.length}`} assessed lesions are larger than at their smallest${past}.`,
      );
    } else lines.push(`Widespread progression: ${which ? `${which}; ` : ''}more than 3 lesions progressing.`);
  }
  if (tp.resistance === 'primary') lines.push('Primary resistance: no response before progression.');
  if (tp.resistance === 'acquired') lines.push('Acquired resistance: progression after an earlier response.');
  return lines.join(' ');
}

/** The data-quality issues a timepoint's report lists: the record's, the baseline's and its own. */
export function issuesFor(assessment: Assessment, tp: TimepointAssessment): DataQualityIssue[] {
  return [
    ...assessment.issues.filter(
      (i) => i.date === undefined || i.date === tp.date || i.date === assessment.baseline?.date,
    ),
    ...tp.issues,
  ];
}

/** The conclusion of one timepoint's report. */
export function conclusionText(assessment: Assessment, tp: TimepointAssessment): string {
  const names = lesionNamer(assessment);
  const start = assessment.treatmentStart;
  const response = RESPONSE_DISPLAY[tp.response];
  const course = start
    ? `, day ${tp.daysSinceStart} of ${drugWords(assessment.drugs)} (started ${start})`
    : ' (no immunotherapy recorded)';
  const lines = [
    `${response.charAt(0).toUpperCase()}${response.slice(1)} on ${tp.date}${course}. Patient status: ${STATUS_DISPLAY[tp.status].toLowerCase()}.`,
    `Criteria: ${assessment.profile.name}.`,
    findings(tp, names),
    whatHappened(assessment, tp, names),
    hyperprogressionText(tp),
    patternText(tp, names),
    nextStepText(assessment, tp),
    evidenceText(tp, drugWords(assessment.drugs)),
  ].map((l) => printable(l, MAX_LINE));
  const issues = issuesFor(assessment, tp);
  if (issues.length > 0)
    lines.push(
      `Data not used or uncertain: ${issues.map((i) => `${printable(i.text, MAX_ISSUE_TEXT)}${i.source ? ` [${i.source}]` : ''}`).join(' ')}`,
    );
  lines.push(computedResultStatement());
  return lines.filter(Boolean).join('\n');
}
