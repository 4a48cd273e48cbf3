/**
 * The one next step of a timepoint (src/domain/next-step.ts) in words, the same sentence in the report and in the
 * Flag, so they cannot disagree. Never advice to continue for an unstable patient or a hyperprogression.
 */
import type { Assessment, TimepointAssessment } from '../domain/assess.ts';
import type { IntervalBasis } from '../domain/next-step.ts';

/** "8 weeks" or "45 days". */
export const interval = (days: number): string => (days % 7 === 0 ? `${days / 7} weeks` : `${days} days`);

function intervalSource(a: Assessment, days: number, basis: IntervalBasis): string {
  return basis === 'history'
    ? `${interval(days)} after this scan, the interval of this patient's recent scans`
    : `${interval(days)} after this scan, the default for ${a.profile.species === 'dog' ? 'the canine profile' : 'human patients'} until the patient's own scan interval is known`;
}

/** The next step as one or two sentences, starting "Next step:". */
export function nextStepText(a: Assessment, tp: TimepointAssessment): string {
  const s = tp.nextStep;
  const pendingSince = tp.step.state.pending?.date;
  switch (s.kind) {
    case 'review-treatment':
      if (s.because === 'hyperprogression') {
        return tp.response === 'iCPD'
          ? 'Next step: review the treatment now: hyperprogression, now confirmed (iCPD).'
          : 'Next step: review the treatment now: hyperprogression. A confirming scan is not a reason to wait.';
      }
      if (s.because === 'confirmed-progression')
        return 'Next step: review the treatment plan now: progression is confirmed.';
      return `Next step: review the treatment now. The patient is ${tp.ecog.text}; iRECIST supports treatment beyond progression only for clinically stable patients.`;
    case 'confirm-progression': {
      const window = `between ${s.from} and ${s.to} (${a.profile.minConfirmationDays}-${a.profile.maxConfirmationDays} days after the unconfirmed progression of ${pendingSince})`;
      const what = s.windowPassed
        ? `the confirmation window (${s.from} to ${s.to}) has passed: confirm with a scan as soon as possible`
        : `${s.tooEarly ? 'this scan was too early to confirm; ' : ''}confirm with a scan ${window}`;
      const missing = s.missing.length > 0 ? `, measuring ${s.missing.join(', ')}` : '';
      const stability = tp.ecog.baseline
        ? `The patient is ${tp.ecog.text}. iRECIST supports continuing treatment until then while the patient stays clinically stable.`
        : 'iRECIST supports continuing treatment until then only if the patient is clinically stable (no performance status is recorded).';
      return `Next step: ${what}${missing}. ${stability}`;
    }
    case 'complete-assessment':
      return `Next step: complete the assessment: ${s.missing.length > 0 ? `${s.missing.join(', ')} not measured or not reported; ` : ''}measure ${s.missing.length === 1 ? 'it' : 'them'} on this scan or repeat imaging by ${s.by} (${intervalSource(a, s.intervalDays, s.basis)}).`;
    case 'next-assessment':
      return `Next step: next assessment by ${s.by} (${intervalSource(a, s.intervalDays, s.basis)}).`;
  }
}
