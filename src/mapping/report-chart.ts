/**
 * The tumour-burden chart a report carries (contract section 2: `presentedForm`, `image/svg+xml`), drawn as of the
 * report's own date so it never changes when later scans arrive. Drawing costs 15-130 ms (more with a longer
 * history), so charts are memoised by what they draw: a patient assessed again (every new input) redraws only the
 * charts whose content changed. Bounded by bytes; the oldest drawing goes first.
 */
import { createHash } from 'node:crypto';
import { chartModelOf } from '../charts/chart-data.ts';
import type { ChartThreads } from '../charts/chart-threads.ts';
import { renderChartModelSvg, SVG_CONTENT_TYPE } from '../charts/render-svg.ts';
import type { ChartModel } from '../charts/shared/chart-model.ts';
import type { Assessment } from '../domain/assess.ts';
import type { PatientRecord } from '../domain/types.ts';
import { FULL_SERVER_OUTPUTS, type RenderedOutputs, rendersReport } from './rendered-outputs.ts';

export { SVG_CONTENT_TYPE };

/**
 * Reports (the most recent ones) that carry a chart when drawn; older reports carry the text alone, or keep the chart
 * they were written with (src/fhir/keep-chart.ts). One: the latest chart shows the whole history, and drawing is most
 * of an assessment's CPU (issue #13: three charts were about 60% of a backlog drain's CPU).
 */
export const CHART_REPORTS = 1;

/**
 * The position of the first timepoint whose report is drawn with its chart: the latest `chartReports` are.
 * @param timepoints - How many timepoints the assessment has.
 * @param chartReports - How many of the latest reports carry a chart (default CHART_REPORTS).
 */
export function firstChartedPosition(timepoints: number, chartReports = CHART_REPORTS): number {
  return timepoints - chartReports;
}

/** Memoised drawings, at most this many characters in all (about 150 public-case charts). */
const MAX_CACHED_CHARS = 8 * 1024 * 1024;

const cache = new Map<string, string>();
let cachedChars = 0;

function remember(key: string, svg: string): void {
  if (svg.length > MAX_CACHED_CHARS / 4) return;
  cache.set(key, svg);
  cachedChars += svg.length;
  for (const [oldKey, old] of cache) {
    if (cachedChars <= MAX_CACHED_CHARS) break;
    cache.delete(oldKey);
    cachedChars -= old.length;
  }
}

/**
 * The chart of a report, as SVG text: what was known on the report's date.
 * @param assessment - The engine's assessment of the patient.
 * @param record - The mapped record (doses, ctDNA, tumour markers).
 * @param asOf - The report's scan date.
 * @returns The SVG (the same input gives the same bytes), or undefined when the chart cannot be drawn.
 */
export function reportChartSvg(assessment: Assessment, record: PatientRecord, asOf: string): string | undefined {
  const { model, key } = keyedModel(assessment, record, asOf);
  const hit = cache.get(key);
  if (hit !== undefined) {
    // Most recently used last, so eviction takes the least recently used.
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  let svg: string;
  try {
    svg = renderChartModelSvg(model);
  } catch {
    // The charting library refuses some extreme inputs (e.g. 1e308 mm): the report goes out with its text alone.
    return undefined;
  }
  remember(key, svg);
  return svg;
}

function keyedModel(assessment: Assessment, record: PatientRecord, asOf: string): { model: ChartModel; key: string } {
  const model = chartModelOf(assessment, { record, asOf });
  return { model, key: createHash('sha256').update(JSON.stringify(model)).digest('base64') };
}

/**
 * Draws on the chart thread, ahead of the rendering, the charts the rendering will draw (the reports it renders, the
 * latest `chartReports` of them) and are not memoised yet; the rendering then finds them in the memo. A chart the
 * thread could not draw is left to the rendering, which draws it itself or leaves it out, as without the thread.
 * @param assessment - The engine's assessment.
 * @param record - The mapped record.
 * @param options - The rendering's own `outputs` (default: a full server) and `chartReports`.
 * @param threads - The chart thread.
 */
export async function drawReportChartsAhead(
  assessment: Assessment,
  record: PatientRecord,
  options: { outputs?: RenderedOutputs; chartReports?: number },
  threads: ChartThreads,
): Promise<void> {
  if (!rendersReport({ ...FULL_SERVER_OUTPUTS, ...options.outputs })) return;
  const from = Math.max(0, firstChartedPosition(assessment.timepoints.length, options.chartReports));
  await Promise.all(
    assessment.timepoints.slice(from).map(async (tp) => {
      const { model, key } = keyedModel(assessment, record, tp.date);
      if (cache.has(key)) return;
      const svg = await threads.draw(model);
      if (svg !== undefined) remember(key, svg);
    }),
  );
}

/** Empties the memo (tests and benchmarks that measure a first drawing). */
export function clearReportCharts(): void {
  cache.clear();
  cachedChars = 0;
}
