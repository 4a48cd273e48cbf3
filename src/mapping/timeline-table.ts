/** A readable timeline table (date, sum, change from baseline and nadir, response, status) for people. */
import type { Assessment } from '../domain/assess.ts';
import { formatMm } from '../domain/millimetres.ts';
import { textTable } from './text-table.ts';

const pct = (v: number | undefined) => (v === undefined ? '' : `${v > 0 ? '+' : ''}${v.toFixed(1)}%`);

export interface TimelineTableOptions {
  /** Show the timeline as of this timepoint (its position in `a.timepoints`): later timepoints are left out. Default: all. */
  through?: number;
  /** Show at most this many timepoints (the most recent), after the baseline row. Default: all. */
  recent?: number;
}

/**
 * The baseline row and one row per timepoint. With `through` and `recent`, the table is the one a report of
 * that timepoint shows: bounded in size, so a long history does not make every report carry all of it.
 */
export function timelineTable(a: Assessment, options: TimelineTableOptions = {}): string {
  const end = Math.min(a.timepoints.length, (options.through ?? a.timepoints.length - 1) + 1);
  const begin = options.recent === undefined ? 0 : Math.max(0, end - options.recent);
  const rows: string[][] = [['date', 'sum', 'vs baseline', 'vs nadir', 'new', 'response', 'status']];
  if (a.baseline) {
    rows.push([
      a.baseline.date,
      a.baselineSod !== undefined ? formatMm(a.baselineSod) : '',
      '',
      '',
      '',
      'baseline',
      '',
    ]);
  }
  if (begin > 0) rows.push([`(${begin} earlier)`, '', '', '', '', '', '']);
  const all = rowsOf(a);
  for (let i = begin; i < end; i++) rows.push(all[i]!);
  return textTable(rows);
}

/**
 * One row per timepoint, made once per assessment: every report shows the recent rows again, so on a long history
 * each row would otherwise be formatted a dozen times.
 */
const timepointRows = new WeakMap<Assessment, string[][]>();
function rowsOf(a: Assessment): string[][] {
  let rows = timepointRows.get(a);
  if (!rows) {
    rows = a.timepoints.map((tp) => [
      tp.date,
      tp.target.sod !== undefined ? formatMm(tp.target.sod) : tp.target.response === 'none' ? '' : 'n/a',
      pct(tp.changeFromBaselinePct),
      pct(tp.changeFromNadirPct),
      String(tp.newLesions.count || ''),
      tp.response,
      tp.status,
    ]);
    timepointRows.set(a, rows);
  }
  return rows;
}
