/**
 * The look and layout shared by the tumour-burden panels: series names, colours, sizes, the date axis. Browser-safe
 * (served to the SMART app with the rest of this folder): no imports but `./` siblings and types.
 */
import type { ChartEvent } from './chart-model.ts';

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

export const COLOURS = {
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
export const EVENT_COLOURS: Record<ChartEvent['kind'], string> = {
  iCPD: '#b71c1c',
  hyperprogression: '#4a148c',
  iUPD: '#ef6c00',
  reset: '#2e7d32',
};
export const SEVERITY = Object.keys(EVENT_COLOURS) as ChartEvent['kind'][];
export const LESION_PALETTE = ['#1565c0', '#ad1457', '#00897b', '#f9a825', '#6d4c41', '#3949ab', '#7cb342', '#d84315'];

export const LEFT = 64;
export const RIGHT = 72;
export const MAIN_TOP = 84;
export const MAIN_HEIGHT = 260;
export const SPIDER_GAP = 100;
export const SPIDER_HEIGHT = 180;
export const LAB_GAP = 72;
export const LAB_HEIGHT = 84;
export const BOTTOM = 40;
export const DAY_MS = 86_400_000;
/**
 * Legends leave generous gaps: the server lays text out with ECharts' estimated glyph widths, and a viewer's font
 * may be wider.
 */
export const LEGEND = {
  left: LEFT - 8,
  right: RIGHT,
  itemGap: 36,
  itemHeight: 8,
  textStyle: { fontSize: 10 },
} as const;
/**
 * Above this many scans the chart is drawn lean (point labels only where a response changes, no markers on the spider
 * and laboratory lines), so that a long history stays readable and its SVG small.
 */
export const DENSE = 24;
/** Longest lesion id drawn in a legend. */
export const MAX_LABEL = 28;

/** Milliseconds since the epoch of a YYYY-MM-DD date, in UTC (the charts use UTC so no time zone shifts a date). */
export function chartTime(date: string): number {
  const [y, m, d] = date.split('-').map(Number);
  return Date.UTC(y ?? 1970, (m ?? 1) - 1, d ?? 1);
}

export const short = (text: string): string => (text.length > MAX_LABEL ? `${text.slice(0, MAX_LABEL - 1)}…` : text);
/** ECharts reads `{…}` in label formatters as templates: a plain label must not contain braces. */
export const plain = (text: string): string => text.replace(/[{}]/g, '');

export interface Panels {
  grid: Record<string, unknown>[];
  xAxis: Record<string, unknown>[];
  yAxis: Record<string, unknown>[];
  series: Record<string, unknown>[];
  title: Record<string, unknown>[];
  legend: Record<string, unknown>[];
}

export function timeAxis(gridIndex: number, span: [number, number]): Record<string, unknown> {
  return {
    type: 'time',
    gridIndex,
    min: span[0],
    max: span[1],
    axisLabel: { formatter: '{yyyy}-{MM}-{dd}', hideOverlap: true, fontSize: 10 },
    splitLine: { show: false },
  };
}
