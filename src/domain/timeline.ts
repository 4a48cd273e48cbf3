/**
 * Treatment start, baseline, pre-baseline and the assessed timepoints (rules.md, Timeline).
 */
import type { CriteriaProfile } from './criteria-profile.ts';
import { daysBetween } from './dates.ts';
import type { DataQualityIssue, Dose, IsoDate, Scan } from './types.ts';

export interface Timeline {
  /** First counted immunotherapy administration; undefined when none was found. */
  treatmentStart?: IsoDate;
  baseline?: Scan;
  preBaseline?: Scan;
  /** Every scan after baseline, in date order. */
  timepoints: Scan[];
  issues: DataQualityIssue[];
}

/**
 * Baseline = the last scan on or before treatment start; with no immunotherapy, the first scan.
 * Scans on the same date as baseline are not timepoints (they are the same imaging visit).
 */
export function buildTimeline(scans: readonly Scan[], doses: readonly Dose[], profile: CriteriaProfile): Timeline {
  const ordered = [...scans].sort((a, b) => a.date.localeCompare(b.date) || a.id.localeCompare(b.id));
  const issues: DataQualityIssue[] = [];
  const treatmentStart = doses.map((d) => d.date).sort()[0];
  if (ordered.length === 0) {
    issues.push({ code: 'no-scans', text: 'No scan (ImagingStudy or tumour measurement) was found.' });
    return { treatmentStart, timepoints: [], issues };
  }
  let baselineIndex: number;
  if (treatmentStart === undefined) {
    baselineIndex = 0;
    issues.push({
      code: 'no-immunotherapy',
      text: 'No immunotherapy administration was found; the first scan is used as baseline.',
    });
  } else {
    baselineIndex = ordered.findLastIndex((s) => s.date <= treatmentStart);
    if (baselineIndex < 0) {
      baselineIndex = 0;
      issues.push({
        code: 'no-pretreatment-scan',
        text: `No scan on or before treatment start (${treatmentStart}); the first scan is used as baseline.`,
        date: ordered[0]!.date,
      });
    } else {
      const age = daysBetween(ordered[baselineIndex]!.date, treatmentStart);
      if (age > profile.maxBaselineAgeDays) {
        issues.push({
          code: 'baseline-too-old',
          text: `The baseline scan (${ordered[baselineIndex]!.date}) is ${age} days before treatment start (${treatmentStart}), more than ${profile.maxBaselineAgeDays}; it is used, but the comparison is less reliable.`,
          date: ordered[baselineIndex]!.date,
        });
      }
    }
  }
  const baseline = ordered[baselineIndex]!;
  const preBaseline = baselineIndex > 0 ? ordered[baselineIndex - 1] : undefined;
  const timepoints = ordered.slice(baselineIndex + 1).filter((s) => s.date > baseline.date);
  return { treatmentStart, baseline, preBaseline, timepoints, issues };
}
