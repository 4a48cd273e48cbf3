/**
 * The supporting evidence of a timepoint in words (rules.md, "Patient status and evidence"): ctDNA, ECOG, tumour
 * markers, timing. What the evidence supports (pseudoprogression or true progression, Lee 2018) is said only while the
 * question is open (an iUPD awaiting confirmation); otherwise the values alone, so evidence never argues with the code.
 */
import type { TimepointAssessment } from '../domain/assess.ts';
import { formatLab } from '../domain/evidence.ts';

/** "Evidence: ..." or '' when there is none; `drugs` names the treatment for the timing. */
export function evidenceText(tp: TimepointAssessment, drugs: string): string {
  const open = tp.status === 'possible-pseudoprogression';
  const parts: string[] = [];
  if (tp.ctdna.values.length > 0) parts.push(open ? tp.ctdna.text : tp.ctdna.facts);
  if (tp.ecog.baseline) parts.push(tp.ecog.text);
  for (const m of tp.markers) {
    const span =
      m.first && m.latest && m.first !== m.latest
        ? ` (${formatLab(m.first)} on ${m.first.date} to ${formatLab(m.latest)} on ${m.latest.date})`
        : m.latest
          ? ` (${formatLab(m.latest)} on ${m.latest.date})`
          : '';
    parts.push(`${m.name} ${m.direction === 'single' ? 'one result' : m.direction}${span}`);
  }
  if (open && tp.earlyProgression) {
    parts.push(`the progression came within 12 weeks of starting ${drugs}, when pseudoprogression is most common`);
  }
  return parts.length > 0 ? `Evidence: ${parts.join('; ')}.` : '';
}
