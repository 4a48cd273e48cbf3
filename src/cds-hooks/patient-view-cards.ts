/**
 * The card of a patient-view call: one card for the patient's current iRECIST status, or none when no scan after
 * baseline could be assessed. The summary is a sentence a clinician can act on without opening the card; the
 * detail is the latest report's conclusion (the report's own narrative, src/mapping/conclusion-text.ts) in Markdown.
 * https://cds-hooks.hl7.org/2.0/#card-attributes
 */
import type { Assessment, TimepointAssessment } from '../domain/assess.ts';
import type { PatientStatus } from '../domain/types.ts';
import { conclusionText } from '../mapping/conclusion-text.ts';
import { RESPONSE_DISPLAY, STATUS_DISPLAY } from '../mapping/displays.ts';
import { CARD_SOURCE, OVERRIDE_REASONS, sourceStatement } from './card-source.ts';

export type Indicator = 'info' | 'warning' | 'critical';

export interface Card {
  uuid?: string;
  summary: string;
  indicator: Indicator;
  detail: string;
  source: typeof CARD_SOURCE;
  links: { label: string; url: string; type: 'smart' }[];
  overrideReasons: (typeof OVERRIDE_REASONS)[number][];
}

/** The specification's limit: a summary under 140 characters. */
export const MAX_SUMMARY = 139;

export const INDICATOR: Record<PatientStatus, Indicator> = {
  hyperprogression: 'critical',
  'confirmed-progression': 'critical',
  'possible-pseudoprogression': 'warning',
  pseudoprogression: 'info',
  responding: 'info',
  stable: 'info',
  'not-evaluable': 'info',
};

const pct = (v: number | undefined): string =>
  v === undefined ? '' : `, sum of diameters ${v > 0 ? '+' : ''}${v.toFixed(1)} % from baseline`;

/** The iUPD whose reset made this patient's pseudoprogression. */
function lastResetUpd(assessment: Assessment): string | undefined {
  return assessment.timepoints.findLast((t) => t.step.reset)?.step.reference?.date;
}

/** The date the current status began (the first of the latest run of timepoints with that status). */
function statusSince(timepoints: readonly TimepointAssessment[]): string {
  const last = timepoints.at(-1) as TimepointAssessment;
  let since = last.date;
  for (let i = timepoints.length - 1; i >= 0 && timepoints[i]?.status === last.status; i--) {
    since = timepoints[i]?.date as string;
  }
  return since;
}

function summaryOf(assessment: Assessment, tp: TimepointAssessment): string {
  const since = statusSince(assessment.timepoints);
  switch (tp.status) {
    case 'hyperprogression':
      return `Hyperprogression on ${since}: tumour growth at least doubled on immunotherapy. Review promptly.`;
    case 'confirmed-progression':
      return `Confirmed progression (iCPD) on ${since}. Review the immunotherapy plan.`;
    case 'possible-pseudoprogression': {
      const w = tp.confirmationWindow;
      const upd = tp.step.state.pending?.date ?? since;
      return w
        ? `Possible pseudoprogression: unconfirmed progression (iUPD) on ${upd}. Confirm with a scan ${w.from} to ${w.to}.`
        : `Possible pseudoprogression: unconfirmed progression (iUPD) on ${upd}. Confirm with the next scan.`;
    }
    case 'pseudoprogression': {
      const upd = lastResetUpd(assessment);
      return `Pseudoprogression: ${upd ? `the iUPD of ${upd}` : 'an earlier iUPD'} was not confirmed; ${tp.response} on ${tp.date}.`;
    }
    case 'responding':
      return `Responding to immunotherapy: ${tp.response} on ${tp.date}${pct(tp.changeFromBaselinePct)}.`;
    case 'stable':
      return tp.response === 'iNN'
        ? `Non-target disease only, no progression (iNN) on ${tp.date}.`
        : `Stable disease (iSD) on ${tp.date}${pct(tp.changeFromBaselinePct)}.`;
    case 'not-evaluable':
      return `Latest scan ${tp.date} not evaluable (NE): measurements missing. See the detail.`;
  }
}

/** Backslash-escapes what Markdown would read as markup: text quoted from the input must not become a link or image. */
export function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_[\]<>#|~!]/g, (c) => `\\${c}`);
}

function detailOf(assessment: Assessment, tp: TimepointAssessment): string {
  const status = `${STATUS_DISPLAY[tp.status]} since ${statusSince(assessment.timepoints)}.`;
  const latest = `Latest scan ${tp.date}: ${RESPONSE_DISPLAY[tp.response]}.`;
  const conclusion = conclusionText(assessment, tp).split('\n').filter(Boolean).map(escapeMarkdown);
  return [
    `**${escapeMarkdown(status)}** ${escapeMarkdown(latest)}`,
    ...conclusion,
    `*${escapeMarkdown(sourceStatement())}*`,
  ].join('\n\n');
}

/**
 * The cards for a patient's assessment.
 * @param assessment - The engine's assessment of the patient's current data.
 * @param appLaunchUrl - The SMART app's launch URL (the CDS client adds iss and launch).
 * @returns One card for the latest assessed scan, or none when there is no assessed scan.
 */
export function patientViewCards(assessment: Assessment, appLaunchUrl: string): Card[] {
  const tp = assessment.timepoints.at(-1);
  if (!tp) return [];
  const summary = summaryOf(assessment, tp);
  return [
    {
      summary: summary.length > MAX_SUMMARY ? `${summary.slice(0, MAX_SUMMARY - 1)}…` : summary,
      indicator: INDICATOR[tp.status],
      detail: detailOf(assessment, tp),
      source: CARD_SOURCE,
      links: [{ label: 'Tumour-burden charts, lesions and reports (iRECIST app)', url: appLaunchUrl, type: 'smart' }],
      overrideReasons: [...OVERRIDE_REASONS],
    },
  ];
}
