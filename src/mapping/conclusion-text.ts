/**
 * The DiagnosticReport conclusion and the Flag text, written for a clinician: what was found, which rule
 * applied, what to do next and by when, the supporting evidence, and what data could not be used.
 */
import type { Assessment, TimepointAssessment } from '../domain/assess.ts';
import { formatMm } from '../domain/millimetres.ts';
import type { DataQualityIssue } from '../domain/types.ts';
import { CATEGORY_DISPLAY, RESPONSE_DISPLAY, STATUS_DISPLAY } from './displays.ts';

const pct = (v: number | undefined): string => (v === undefined ? 'n/a' : `${v > 0 ? '+' : ''}${v.toFixed(1)}%`);
const CATEGORY_NAME = {
  target: 'target lesions',
  'non-target': 'non-target lesions',
  'new-lesion': 'new lesions',
} as const;

function findings(tp: TimepointAssessment): string {
  const parts: string[] = [];
  if (tp.target.sod !== undefined) {
    parts.push(
      `Sum of target diameters ${formatMm(tp.target.sod)} (${pct(tp.changeFromBaselinePct)} from baseline ${tp.baselineSod !== undefined ? formatMm(tp.baselineSod) : 'n/a'}, ${pct(tp.changeFromNadirPct)} from nadir ${tp.nadirSod !== undefined ? formatMm(tp.nadirSod) : 'n/a'}).`,
    );
  } else if (tp.target.response !== 'none') {
    parts.push(`Sum of target diameters not available: ${tp.target.reason}.`);
  }
  parts.push(
    `Target: ${CATEGORY_DISPLAY[tp.target.response]}; non-target: ${CATEGORY_DISPLAY[tp.nonTarget.response]}; new lesions: ${tp.newLesions.count === 0 ? 'none' : `${tp.newLesions.count} (${tp.newLesions.present.length} present)`}.`,
  );
  return parts.join(' ');
}

function nextSteps(tp: TimepointAssessment): string {
  const s = tp.step;
  switch (tp.response) {
    case 'iUPD': {
      const trig = s.triggers ?? s.reference?.triggers ?? [];
      const why = trig.map((t) => CATEGORY_NAME[t]).join(', ');
      const window = tp.confirmationWindow ?? (s.reference ? undefined : undefined);
      const lines = [
        s.triggers
          ? `RECIST 1.1 progression in ${why}: unconfirmed progression (iUPD).`
          : `iUPD of ${s.reference?.date} not yet confirmed (${s.daysSinceUpd} days later).`,
      ];
      if (tp.hyperprogression?.hyperprogression) {
        const h = tp.hyperprogression;
        lines.push(
          `Hyperprogression: tumour growth rate ${h.tgrReference?.toFixed(1)}%/month before treatment vs ${h.tgrExperimental?.toFixed(1)}%/month on treatment (${h.ratio?.toFixed(1)}-fold, delta ${h.deltaTgr?.toFixed(1)}). Review treatment promptly.`,
        );
      }
      if (window)
        lines.push(
          `Confirm with a scan between ${window.from} and ${window.to}; continue immunotherapy if the patient is clinically stable.`,
        );
      else if (s.early)
        lines.push('This scan is too early to confirm; the next scan should fall inside the confirmation window.');
      if (tp.earlyProgression)
        lines.push('Progression within 12 weeks of starting immunotherapy, when pseudoprogression is most common.');
      return lines.join(' ');
    }
    case 'iCPD': {
      const lines = [
        s.confirmedBy
          ? `Progression confirmed (iCPD): ${s.confirmedBy.join('; ')}.`
          : 'Progression was confirmed earlier (iCPD).',
      ];
      if (tp.resistance)
        lines.push(
          tp.resistance === 'primary'
            ? 'Primary resistance: no response before progression.'
            : 'Acquired resistance: progression after an earlier response.',
        );
      lines.push('Review the treatment plan.');
      return lines.join(' ');
    }
    case 'NE':
      return 'Not evaluable: complete the missing measurements or repeat imaging.';
    default:
      if (s.reset)
        return `The iUPD of ${s.reference?.date} was not confirmed: pseudoprogression. Continue assessment at the usual interval.`;
      if (tp.status === 'pseudoprogression')
        return 'Pseudoprogression history; continue assessment at the usual interval.';
      return 'Continue assessment at the usual interval.';
  }
}

function evidence(tp: TimepointAssessment): string {
  const parts = [tp.ctdna.values.length > 0 ? tp.ctdna.text : undefined, tp.ecog.baseline ? tp.ecog.text : undefined];
  for (const m of tp.markers) {
    parts.push(
      `${m.name} ${m.direction}${m.first && m.latest && m.first !== m.latest ? ` (${m.first.value} to ${m.latest.value}${m.latest.unit ? ` ${m.latest.unit}` : ''})` : ''}`,
    );
  }
  if (tp.progressingLesions && tp.progressingLesions.length > 0) {
    parts.push(
      `${tp.progressingLesions.length} lesion(s) progressing${tp.oligoprogression ? ' (oligoprogression: at most 3 lesions)' : ''}`,
    );
  }
  const present = parts.filter((p): p is string => Boolean(p));
  return present.length > 0 ? `Evidence: ${present.join('; ')}.` : '';
}

/** Longest issue text a conclusion quotes (ours are under 250 characters; an echoed input value can be megabytes). */
const MAX_ISSUE_TEXT = 300;
/** Longest other line: the evidence line quotes lab units as the input gave them. */
const MAX_LINE = 2_000;
// C0 and C1 controls, bidi marks and overrides: a FHIR string allows no control character but tab and newlines
// (https://hl7.org/fhir/R4/datatypes.html#string), and a report must not be reordered by its input.
const UNPRINTABLE = /[\p{Cc}\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;

/** A line as a report may carry it: issues and evidence quote input values (a code, a status, a unit) as they came. */
function printable(text: string, max: number): string {
  const clean = text.replace(UNPRINTABLE, '?');
  return (clean.length > max ? `${clean.slice(0, max)}…` : clean).toWellFormed();
}

export function issuesFor(assessment: Assessment, tp: TimepointAssessment): DataQualityIssue[] {
  return [
    ...assessment.issues.filter(
      (i) => i.date === undefined || i.date === tp.date || i.date === assessment.baseline?.date,
    ),
    ...tp.issues,
  ];
}

export function conclusionText(assessment: Assessment, tp: TimepointAssessment): string {
  const start = assessment.treatmentStart;
  const response = RESPONSE_DISPLAY[tp.response];
  const head = `${response.charAt(0).toUpperCase()}${response.slice(1)} on ${tp.date}${start ? `, day ${tp.daysSinceStart} of immunotherapy (started ${start})` : ''}. Patient status: ${STATUS_DISPLAY[tp.status].toLowerCase()}.`;
  const lines = [head, findings(tp), nextSteps(tp), ...tp.step.notes.map((n) => `Note: ${n}.`), evidence(tp)].map((l) =>
    printable(l, MAX_LINE),
  );
  const issues = issuesFor(assessment, tp);
  if (issues.length > 0)
    lines.push(
      `Data not used or uncertain: ${issues.map((i) => `${printable(i.text, MAX_ISSUE_TEXT)}${i.source ? ` [${i.source}]` : ''}`).join(' ')}`,
    );
  return lines.filter(Boolean).join('\n');
}

export function flagText(tp: TimepointAssessment, since: string): string {
  const lines = [`${STATUS_DISPLAY[tp.status]} since ${since} (iRECIST, irecist-adapter).`];
  if (tp.status === 'possible-pseudoprogression' || tp.status === 'hyperprogression') {
    const window = tp.confirmationWindow;
    if (window)
      lines.push(`Confirm with a scan between ${window.from} and ${window.to} before stopping immunotherapy.`);
    if (tp.earlyProgression) lines.push('Within 12 weeks of start, when pseudoprogression is most common.');
    if (tp.ecog.unstable) lines.push(`Clinically unstable (${tp.ecog.text}).`);
  }
  if (tp.status === 'hyperprogression')
    lines.push('Tumour growth rate at least doubled on treatment: review promptly.');
  if (tp.status === 'confirmed-progression') lines.push('Progression confirmed: review the treatment plan.');
  if (tp.status === 'pseudoprogression')
    lines.push('An unconfirmed progression was followed by shrinkage or stability.');
  return lines.map((l) => printable(l, MAX_LINE)).join(' ');
}
