/** A readable timeline table (date, sum, change from baseline and nadir, response, status) for people. */
import type { Assessment } from '../domain/assess.ts';
import { formatMm } from '../domain/millimetres.ts';

const pct = (v: number | undefined) => (v === undefined ? '' : `${v > 0 ? '+' : ''}${v.toFixed(1)}%`);

export function timelineTable(a: Assessment): string {
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
  for (const tp of a.timepoints) {
    rows.push([
      tp.date,
      tp.target.sod !== undefined ? formatMm(tp.target.sod) : tp.target.response === 'none' ? '' : 'n/a',
      pct(tp.changeFromBaselinePct),
      pct(tp.changeFromNadirPct),
      String(tp.newLesions.count || ''),
      tp.response,
      tp.status,
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
