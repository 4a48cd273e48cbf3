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
import type { ChartEvent, ChartLabSeries, ChartModel } from './chart-model.ts';

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

/** Series names, also the legend entries and what the browser test looks for. */
export const SERIES = {
  sum: 'Sum of target diameters',
  baseline: 'Baseline',
  nadir: 'Nadir',
  progression: 'Progression threshold (nadir +20 %, at least +5 mm)',
  response: 'Response threshold (baseline -30 %)',
  doses: 'Immunotherapy dose',
  newLesionSum: 'New-lesion target sum',
} as const;

const COLOURS = {
  sum: '#1f4e79',
  baseline: '#757575',
  nadir: '#00695c',
  progression: '#c62828',
  response: '#2e7d32',
  dose: '#6a1b9a',
  newLesionSum: '#ef6c00',
  window: 'rgba(255, 152, 0, 0.14)',
  ctdna: '#00838f',
  marker: '#5d4037',
  zero: '#9e9e9e',
} as const;
/** Most severe first: a line shared by several events takes the colour of the most severe. */
const EVENT_COLOURS: Record<ChartEvent['kind'], string> = {
  iCPD: '#b71c1c',
  hyperprogression: '#4a148c',
  iUPD: '#ef6c00',
  reset: '#2e7d32',
};
const SEVERITY = Object.keys(EVENT_COLOURS) as ChartEvent['kind'][];
const LESION_PALETTE = ['#1565c0', '#ad1457', '#00897b', '#f9a825', '#6d4c41', '#3949ab', '#7cb342', '#d84315'];

const LEFT = 64;
const RIGHT = 72;
const MAIN_TOP = 84;
const MAIN_HEIGHT = 260;
const SPIDER_GAP = 100;
const SPIDER_HEIGHT = 180;
const LAB_GAP = 72;
const LAB_HEIGHT = 84;
const BOTTOM = 40;
const DAY_MS = 86_400_000;
/**
 * Legends leave generous gaps: the server lays text out with ECharts' estimated glyph widths, and a viewer's font
 * may be wider.
 */
const LEGEND = { left: LEFT - 8, right: RIGHT, itemGap: 36, itemHeight: 8, textStyle: { fontSize: 10 } } as const;
/**
 * Above this many scans the chart is drawn lean (point labels only where a response changes, no markers on the spider
 * and laboratory lines), so that a long history stays readable and its SVG small.
 */
const DENSE = 24;
/** Longest lesion id drawn in a legend. */
const MAX_LABEL = 28;

/** Milliseconds since the epoch of a YYYY-MM-DD date, in UTC (the charts use UTC so no time zone shifts a date). */
export function chartTime(date: string): number {
  const [y, m, d] = date.split('-').map(Number);
  return Date.UTC(y ?? 1970, (m ?? 1) - 1, d ?? 1);
}

const short = (text: string): string => (text.length > MAX_LABEL ? `${text.slice(0, MAX_LABEL - 1)}…` : text);
/** ECharts reads `{…}` in label formatters as templates: a plain label must not contain braces. */
const plain = (text: string): string => text.replace(/[{}]/g, '');

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

interface Panels {
  grid: Record<string, unknown>[];
  xAxis: Record<string, unknown>[];
  yAxis: Record<string, unknown>[];
  series: Record<string, unknown>[];
  title: Record<string, unknown>[];
  legend: Record<string, unknown>[];
}

function timeAxis(gridIndex: number, span: [number, number]): Record<string, unknown> {
  return {
    type: 'time',
    gridIndex,
    min: span[0],
    max: span[1],
    axisLabel: { formatter: '{yyyy}-{MM}-{dd}', hideOverlap: true, fontSize: 10 },
    splitLine: { show: false },
  };
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

function addSpiderPanel(model: ChartModel, span: [number, number], top: number, p: Panels): boolean {
  const targets = model.lesions.filter(
    (l) => l.role === 'target' && l.sizes.some((s) => s.pctFromBaseline !== undefined),
  );
  const nlt = model.timepoints.filter((t) => t.newLesionSumMm !== undefined);
  if (targets.length === 0 && nlt.length === 0) return false;
  const gridIndex = p.grid.length;
  p.grid.push({ left: LEFT, right: RIGHT, top, height: SPIDER_HEIGHT });
  p.title.push({
    text: 'Target lesions: change from baseline (%)',
    left: LEFT - 56,
    top: top - 60,
    textStyle: { fontSize: 14 },
  });
  p.xAxis.push(timeAxis(gridIndex, span));
  const pctAxis = p.yAxis.length;
  p.yAxis.push({ type: 'value', gridIndex });
  const names: string[] = [];
  targets.forEach((lesion, i) => {
    const colour = LESION_PALETTE[i % LESION_PALETTE.length];
    const name = short(lesion.id);
    names.push(name);
    p.series.push({
      name,
      type: 'line',
      xAxisIndex: gridIndex,
      yAxisIndex: pctAxis,
      data: lesion.sizes.map((s) => [chartTime(s.date), s.pctFromBaseline ?? null]),
      connectNulls: false,
      symbol: 'circle',
      symbolSize: 5,
      showSymbol: model.timepoints.length <= DENSE,
      lineStyle: { color: colour, width: 1.5 },
      itemStyle: { color: colour },
      ...(i === 0
        ? {
            markLine: {
              symbol: 'none',
              silent: true,
              label: { show: false },
              lineStyle: { color: COLOURS.zero, type: 'solid', width: 1 },
              data: [{ yAxis: 0 }],
            },
          }
        : {}),
    });
  });
  if (nlt.length > 0) {
    const mmAxis = p.yAxis.length;
    p.yAxis.push({
      type: 'value',
      gridIndex,
      name: 'new-lesion sum (mm)',
      position: 'right',
      min: 0,
      splitLine: { show: false },
      nameTextStyle: { fontSize: 10 },
    });
    names.push(SERIES.newLesionSum);
    p.series.push({
      name: SERIES.newLesionSum,
      type: 'line',
      xAxisIndex: gridIndex,
      yAxisIndex: mmAxis,
      data: model.timepoints.map((t) => [chartTime(t.date), t.newLesionSumMm ?? null]),
      connectNulls: false,
      symbol: 'diamond',
      symbolSize: 7,
      lineStyle: { color: COLOURS.newLesionSum, type: 'dotted', width: 2 },
      itemStyle: { color: COLOURS.newLesionSum },
    });
  }
  p.legend.push({ ...LEGEND, data: names, top: top - 36 });
  return true;
}

function labTitle(lab: ChartLabSeries): string {
  return lab.unit ? `${lab.name} (${lab.unit})` : lab.name;
}

function addLabPanel(lab: ChartLabSeries, span: [number, number], top: number, p: Panels): void {
  const gridIndex = p.grid.length;
  const colour = lab.kind === 'ctdna' ? COLOURS.ctdna : COLOURS.marker;
  p.grid.push({ left: LEFT, right: RIGHT, top, height: LAB_HEIGHT });
  p.title.push({ text: plain(labTitle(lab)), left: LEFT - 56, top: top - 30, textStyle: { fontSize: 13 } });
  p.xAxis.push(timeAxis(gridIndex, span));
  const yAxisIndex = p.yAxis.length;
  p.yAxis.push({ type: 'value', gridIndex, min: 0 });
  const numeric = lab.points.filter((pt) => pt.value !== undefined);
  const qualitative = lab.points.filter((pt) => pt.value === undefined && pt.detected !== undefined);
  if (numeric.length > 0) {
    p.series.push({
      name: plain(labTitle(lab)),
      type: 'line',
      xAxisIndex: gridIndex,
      yAxisIndex,
      data: numeric.map((pt) => [chartTime(pt.date), pt.value]),
      symbol: 'circle',
      symbolSize: 5,
      showSymbol: numeric.length <= DENSE,
      lineStyle: { color: colour, width: 1.5 },
      itemStyle: { color: colour },
      label: { show: numeric.length <= 12, position: 'top', fontSize: 9, color: colour },
    });
  }
  if (qualitative.length > 0) {
    p.series.push({
      name: `${plain(labTitle(lab))}, qualitative`,
      type: 'scatter',
      xAxisIndex: gridIndex,
      yAxisIndex,
      symbol: 'rect',
      symbolSize: 6,
      itemStyle: { color: colour },
      data: qualitative.map((pt) => ({
        value: [chartTime(pt.date), 0],
        label: { show: true, position: 'top', fontSize: 9, formatter: pt.detected ? 'detected' : 'not detected' },
      })),
    });
  }
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
