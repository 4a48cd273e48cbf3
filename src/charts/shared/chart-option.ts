/**
 * The Apache ECharts option of the tumour-burden charts, built from the plain chart model. One builder for both
 * outputs: the server renders it to SVG (../render-svg.ts) and the SMART app draws it in the browser, so both show
 * the same thing. Browser-safe: no imports but `./` siblings and types, no Node APIs, no clock, no randomness.
 *
 * Panels, top to bottom, on one shared date axis:
 * 1. sum of target diameters with the baseline, the nadir each scan was compared with, the RECIST progression
 *    threshold (nadir +20 % and at least +5 mm), the response threshold (baseline -30 %), iUPD / iCPD / reset /
 *    hyperprogression lines, the confirmation windows shaded and the immunotherapy doses;
 * 2. spider plot: each target lesion's change from its baseline size, and the new-lesion target sum (right axis);
 * 3. one panel per laboratory series and unit (ctDNA, tumour markers), each on its own axis.
 */
import type { EChartsOption } from 'echarts';
import type { ChartEvent, ChartModel } from './chart-model.ts';
import {
  BOTTOM,
  COLOURS,
  chartTime,
  DAY_MS,
  DENSE,
  EVENT_COLOURS,
  LAB_GAP,
  LAB_HEIGHT,
  LEFT,
  LEGEND,
  MAIN_HEIGHT,
  MAIN_TOP,
  type Panels,
  plain,
  RIGHT,
  SERIES,
  SEVERITY,
  SPIDER_GAP,
  SPIDER_HEIGHT,
  timeAxis,
} from './chart-style.ts';
import { addLabPanel, addSpiderPanel } from './side-panels.ts';

export { chartTime, SERIES } from './chart-style.ts';

export interface ChartOptionSettings {
  /** Pixel width (default 800). */
  width?: number;
  /** Tooltips and linked axis pointers for the browser; off for the static SVG. */
  interactive?: boolean;
}

export interface BuiltChartOption {
  option: EChartsOption;
  width: number;
  height: number;
}

function dateSpan(model: ChartModel): [number, number] {
  const dates = [
    model.preBaseline?.date,
    model.baseline?.date,
    ...model.timepoints.map((t) => t.date),
    ...model.doses.map((d) => d.date),
    ...model.confirmationWindows.flatMap((w) => [w.from, w.to]),
    ...model.labs.flatMap((l) => l.points.map((p) => p.date)),
  ].filter((d): d is string => d !== undefined);
  const times = dates.map(chartTime);
  const min = Math.min(...times);
  const max = Math.max(...times);
  const pad = Math.max(7 * DAY_MS, Math.round((max - min) * 0.04));
  return [min - pad, max + pad];
}

/**
 * A one-sentence text of the main panel for screen readers (the SVG's title, the browser chart's aria label).
 * @param model - The chart model.
 * @returns The text.
 */
export function chartDescription(model: ChartModel): string {
  const parts = model.timepoints.slice(-12).map((t) => `${t.date} ${t.sumMm ?? 'not measured'} mm ${t.response}`);
  const base =
    model.baseline?.sumMm !== undefined ? `baseline ${model.baseline.sumMm} mm on ${model.baseline.date}; ` : '';
  return `Sum of target diameters: ${base}${parts.join('; ')}.`;
}

/** Events on one date share one line and one label. */
function eventLines(events: readonly ChartEvent[]): Record<string, unknown>[] {
  const byDate = new Map<string, ChartEvent[]>();
  for (const e of events) byDate.set(e.date, [...(byDate.get(e.date) ?? []), e]);
  return [...byDate.entries()].map(([date, list]) => {
    const colour = EVENT_COLOURS[SEVERITY.find((kind) => list.some((e) => e.kind === kind)) ?? 'iUPD'];
    return {
      xAxis: chartTime(date),
      label: { formatter: plain(list.map((e) => e.label).join(', ')), color: colour, position: 'end', fontSize: 11 },
      lineStyle: { color: colour, type: 'dashed', width: 1.5 },
    };
  });
}

function addMainPanel(model: ChartModel, span: [number, number], p: Panels): void {
  const dense = model.timepoints.length > DENSE;
  const baseline = model.baseline;
  const baseTime = baseline ? chartTime(baseline.date) : undefined;
  const withSum = model.timepoints.filter((t) => t.sumMm !== undefined);
  const lastTime = chartTime(model.timepoints.at(-1)?.date ?? baseline?.date ?? '1970-01-01');
  p.grid.push({ left: LEFT, right: RIGHT, top: MAIN_TOP, height: MAIN_HEIGHT });
  p.title.push({ text: 'Sum of target diameters (mm)', left: LEFT - 56, top: 6, textStyle: { fontSize: 14 } });
  p.xAxis.push(timeAxis(0, span));
  p.yAxis.push({ type: 'value', gridIndex: 0, min: 0 });
  const names: string[] = [SERIES.sum];

  const pre = model.preBaseline;
  const sumData = [
    ...(pre?.sumMm !== undefined
      ? [{ value: [chartTime(pre.date), pre.sumMm], label: { formatter: 'pre-baseline' } }]
      : []),
    ...(baseline?.sumMm !== undefined && baseTime !== undefined
      ? [{ value: [baseTime, baseline.sumMm], label: { formatter: 'baseline' } }]
      : []),
    ...model.timepoints.map((t, i) => ({
      value: [chartTime(t.date), t.sumMm ?? null],
      label:
        !dense || t.response !== model.timepoints[i - 1]?.response ? { formatter: plain(t.response) } : { show: false },
    })),
  ];
  p.series.push({
    name: SERIES.sum,
    type: 'line',
    xAxisIndex: 0,
    yAxisIndex: 0,
    data: sumData,
    connectNulls: false,
    symbol: 'circle',
    symbolSize: 7,
    lineStyle: { width: 2.5, color: COLOURS.sum },
    itemStyle: { color: COLOURS.sum },
    label: { show: true, position: 'top', fontSize: 10, color: COLOURS.sum },
    z: 5,
    markLine: { symbol: 'none', silent: true, data: eventLines(model.events) },
    markArea: {
      silent: true,
      itemStyle: { color: COLOURS.window },
      label: { position: 'insideTop', offset: [0, 18], fontSize: 10, color: '#8d5000' },
      data: model.confirmationWindows.map((w) => [
        { xAxis: chartTime(w.from), name: 'confirmation window' },
        { xAxis: chartTime(w.to) },
      ]),
    },
  });

  const line = (name: string, colour: string, data: unknown[], extra: Record<string, unknown> = {}) => {
    names.push(name);
    p.series.push({
      name,
      type: 'line',
      xAxisIndex: 0,
      yAxisIndex: 0,
      data,
      symbol: 'none',
      silent: true,
      lineStyle: { color: colour, type: 'dashed', width: 1.2 },
      itemStyle: { color: colour },
      ...extra,
    });
  };
  if (baseline?.sumMm !== undefined && baseTime !== undefined) {
    line(SERIES.baseline, COLOURS.baseline, [
      [baseTime, baseline.sumMm],
      [lastTime, baseline.sumMm],
    ]);
    const first = model.timepoints.find((t) => t.nadirMm !== undefined);
    const steps = (pick: (t: (typeof model.timepoints)[number]) => number | undefined) => [
      [baseTime, first ? pick(first) : null],
      ...model.timepoints.filter((t) => pick(t) !== undefined).map((t) => [chartTime(t.date), pick(t)]),
    ];
    // step 'start': the horizontal segment ending at a scan shows the value that scan was compared with.
    if (withSum.length > 0 || first) {
      line(
        SERIES.nadir,
        COLOURS.nadir,
        steps((t) => t.nadirMm),
        { step: 'start' },
      );
      line(
        SERIES.progression,
        COLOURS.progression,
        steps((t) => t.progressionThresholdMm),
        { step: 'start' },
      );
    }
    if (baseline.prThresholdMm !== undefined) {
      line(SERIES.response, COLOURS.response, [
        [baseTime, baseline.prThresholdMm],
        [lastTime, baseline.prThresholdMm],
      ]);
    }
  }
  if (model.doses.length > 0) {
    names.push(SERIES.doses);
    p.series.push({
      name: SERIES.doses,
      type: 'scatter',
      xAxisIndex: 0,
      yAxisIndex: 0,
      symbol: 'triangle',
      symbolSize: 8,
      itemStyle: { color: COLOURS.dose },
      data: model.doses.map((d) => ({ name: plain(d.drug), value: [chartTime(d.date), 0] })),
    });
  }
  // Two fixed rows: a wrapped legend would run into the event labels above the plot.
  p.legend.push({ ...LEGEND, data: names.slice(0, 3), top: 28 }, { ...LEGEND, data: names.slice(3), top: 48 });
}

/**
 * The ECharts option of the tumour-burden charts.
 * @param model - The chart model (chart-data.ts on the server, the same JSON in the browser).
 * @param settings - Width, and whether tooltips are wanted.
 * @returns The option and the pixel size it was laid out for.
 */
export function buildTumourBurdenOption(model: ChartModel, settings: ChartOptionSettings = {}): BuiltChartOption {
  const width = settings.width ?? 800;
  const panels: Panels = { grid: [], xAxis: [], yAxis: [], series: [], title: [], legend: [] };
  const common = {
    animation: false,
    useUTC: true,
    backgroundColor: '#ffffff',
    textStyle: { fontFamily: 'sans-serif' },
  };
  if (!model.baseline && model.timepoints.length === 0) {
    return {
      option: { ...common, title: { text: 'No assessable scan yet', left: 'center', top: 'middle' } },
      width,
      height: 120,
    };
  }
  const span = dateSpan(model);
  addMainPanel(model, span, panels);
  let bottom = MAIN_TOP + MAIN_HEIGHT;
  if (addSpiderPanel(model, span, bottom + SPIDER_GAP, panels)) bottom += SPIDER_GAP + SPIDER_HEIGHT;
  for (const lab of model.labs) {
    addLabPanel(lab, span, bottom + LAB_GAP, panels);
    bottom += LAB_GAP + LAB_HEIGHT;
  }
  const option = {
    ...common,
    aria: { enabled: true, label: { description: chartDescription(model) } },
    ...panels,
    ...(settings.interactive
      ? { tooltip: { trigger: 'item', confine: true }, axisPointer: { link: [{ xAxisIndex: 'all' }] } }
      : {}),
  } as EChartsOption;
  return { option, width, height: bottom + BOTTOM };
}
