/**
 * The panels under the sum of diameters: the spider plot (each target lesion against its baseline size, the
 * new-lesion target sum on its own axis) and one panel per laboratory series and unit. Browser-safe, like the rest of
 * this folder.
 */
import type { ChartLabSeries, ChartModel } from './chart-model.ts';
import {
  COLOURS,
  chartTime,
  DENSE,
  LAB_HEIGHT,
  LEFT,
  LEGEND,
  LESION_PALETTE,
  type Panels,
  plain,
  RIGHT,
  SERIES,
  SPIDER_HEIGHT,
  short,
  timeAxis,
} from './chart-style.ts';

/** Adds the spider panel; false when there is nothing to draw in it. */
export function addSpiderPanel(model: ChartModel, span: [number, number], top: number, p: Panels): boolean {
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

/** Adds the panel of one laboratory series. */
export function addLabPanel(lab: ChartLabSeries, span: [number, number], top: number, p: Panels): void {
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
