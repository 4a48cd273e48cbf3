/**
 * The chart Flag's text: the status and since when, hyperprogression (found, confirmed, or not assessable), the one
 * next step (the same sentence as the report's), timing, and that the result was computed and not reviewed.
 */
import type { Assessment, TimepointAssessment } from '../domain/assess.ts';
import { drugWords } from './conclusion-text.ts';
import { computedResultStatement, flagSourceLine } from './decision-support-source.ts';
import { STATUS_DISPLAY } from './displays.ts';
import { nextStepText } from './next-step-text.ts';
import { MAX_LINE, printable } from './printable.ts';

/** The Flag text for the latest timepoint, whose status began on `since`. */
export function flagText(a: Assessment, tp: TimepointAssessment, since: string): string {
  const criteria =
    a.profile.species === 'dog'
      ? `iRECIST, canine profile with its ${a.profile.minConfirmationDays}-${a.profile.maxConfirmationDays} day confirmation window`
      : 'iRECIST, human criteria';
  const lines = [`${STATUS_DISPLAY[tp.status]} since ${since} (${criteria}).`];
  const h = tp.hyperprogression;
  if (h?.hyperprogression) {
    lines.push(
      tp.response === 'iCPD'
        ? 'Hyperprogression: the tumour growth rate at least doubled on treatment, and progression is now confirmed.'
        : 'Hyperprogression: the tumour growth rate at least doubled on treatment.',
    );
  } else if (h?.undefinedBecause && tp.status === 'possible-pseudoprogression') {
    lines.push(`Hyperprogression could not be assessed: ${h.undefinedBecause}.`);
  }
  lines.push(nextStepText(a, tp));
  if (tp.status === 'possible-pseudoprogression' && tp.earlyProgression) {
    lines.push(`Within 12 weeks of starting ${drugWords(a.drugs)}, when pseudoprogression is most common.`);
  }
  if (tp.status === 'pseudoprogression')
    lines.push('An unconfirmed progression was followed by shrinkage or stability.');
  lines.push(computedResultStatement(), flagSourceLine());
  return lines.map((l) => printable(l, MAX_LINE)).join(' ');
}
