/**
 * The lesion table of a report's rendered form (issue #8 section 2 item 5): each target, non-target and new lesion
 * with its site, baseline, smallest value before this scan, value at this scan and the change; a lesion this scan did
 * not measure or report is named as such.
 */
import type { TimepointAssessment } from '../domain/assess.ts';
import type { LesionCourse } from '../domain/lesion-course.ts';
import { formatMm, percentChange } from '../domain/millimetres.ts';
import type { QualitativeState, Tenths } from '../domain/types.ts';
import { textTable } from './text-table.ts';

const ROLE: Record<LesionCourse['role'], string> = {
  target: 'target',
  'non-target': 'non-target',
  'new-target': 'new (measurable)',
  'new-non-target': 'new (non-measurable)',
};

const STATE: Record<QualitativeState, string> = {
  absent: 'absent',
  present: 'present',
  'unequivocal-progression': 'unequivocal progression',
  increased: 'increased',
};

const MAX_SITE = 40;

function change(from: Tenths | undefined, to: Tenths | undefined): string {
  if (from === undefined || to === undefined) return '';
  const pct = percentChange(from, to);
  return `${to - from >= 0 ? '+' : ''}${formatMm(to - from)}${pct === undefined ? '' : ` (${pct > 0 ? '+' : ''}${pct.toFixed(1)}%)`}`;
}

function row(l: LesionCourse): string[] {
  const name = l.id.startsWith('BodyStructure/') ? l.id.slice('BodyStructure/'.length) : l.id;
  const site = (l.site ?? 'site not given').slice(0, MAX_SITE);
  const measured = l.role === 'target' || l.role === 'new-target';
  const baseline = l.firstSeen
    ? `new on ${l.firstSeen}`
    : measured
      ? l.baseline === undefined
        ? 'not measured'
        : formatMm(l.baseline)
      : l.baselineState
        ? STATE[l.baselineState]
        : 'not assessed';
  const now = !l.assessed
    ? 'not measured or reported'
    : measured
      ? l.current === undefined
        ? STATE[l.state ?? 'present']
        : formatMm(l.current)
      : `${l.state ? STATE[l.state] : 'not assessed'}${l.current !== undefined ? ` (${formatMm(l.current)})` : ''}`;
  return [
    name,
    ROLE[l.role],
    site,
    baseline,
    measured && l.nadir !== undefined ? formatMm(l.nadir) : '',
    now,
    measured ? change(l.baseline, l.current) : '',
    measured ? change(l.nadir, l.current) : '',
  ];
}

/** The lesions of a timepoint as a plain-text table. */
export function lesionTable(tp: TimepointAssessment): string {
  if (tp.lesions.length === 0) return 'No lesion recorded.';
  return textTable([
    ['lesion', 'role', 'site', 'baseline', 'smallest before', 'this scan', 'vs baseline', 'vs smallest'],
    ...tp.lesions.map(row),
  ]);
}
