/**
 * Server-side SVG of the tumour-burden charts: Apache ECharts' SSR SVG renderer (no browser, no canvas, no DOM).
 * Deterministic: animation off, UTC dates, and the renderer's generated names (`zr<N>-c0`, `zr<N>-cls-<M>`: N counts
 * the charts made in this process, M the CSS classes ever made) renumbered in order of appearance under a prefix
 * derived from the drawing itself, so the same input gives the same bytes in any process and two charts on one page
 * still never share an id.
 * https://echarts.apache.org/handbook/en/how-to/cross-platform/server/
 */
import { createHash } from 'node:crypto';
import { LineChart, ScatterChart } from 'echarts/charts';
import {
  AriaComponent,
  GridComponent,
  LegendComponent,
  MarkAreaComponent,
  MarkLineComponent,
  TitleComponent,
} from 'echarts/components';
import * as echarts from 'echarts/core';
import { SVGRenderer } from 'echarts/renderers';
import type { Assessment } from '../domain/assess.ts';
import { type ChartDataOptions, chartModelOf } from './chart-data.ts';
import type { ChartModel } from './shared/chart-model.ts';
import { buildTumourBurdenOption, chartDescription } from './shared/chart-option.ts';

echarts.use([
  LineChart,
  ScatterChart,
  AriaComponent,
  GridComponent,
  LegendComponent,
  MarkAreaComponent,
  MarkLineComponent,
  TitleComponent,
  SVGRenderer,
]);

export const SVG_CONTENT_TYPE = 'image/svg+xml';

export interface SvgChartOptions extends ChartDataOptions {
  /** Pixel width (default 800); the height follows from the panels drawn. */
  width?: number;
}

/** A name the renderer generated: `zr3-c0` (clip path), `zr3-g1` (gradient), `zr3-cls-12` (CSS class). */
const GENERATED_NAME = /\bzr\d+-(?:cls-\d+|[a-z]+\d+)\b/g;

/**
 * One scan of the document: the style sheet (renamed inside), a text node (`>` up to the next tag: the clinical
 * labels, left alone) or a generated name (necessarily inside a tag, as text nodes are consumed whole).
 */
const SCAN = /<style[^>]*>[\s\S]*?<\/style>|>[^<]*|\bzr\d+-(?:cls-\d+|[a-z]+\d+)\b/g;

/** Marks a renamed name until the digest is known: U+0001 cannot occur in XML, so it stands for nothing else. */
const MARK = '\u0001';

/**
 * Renumbers the renderer's generated names in order of appearance, inside tags and the style sheet only (text
 * content is the clinical labels and is left alone), then prefixes them with a digest of the result. One regular
 * expression pass and two literal replacements, as this runs on every chart drawn.
 */
function stableNames(svg: string): string {
  const names = new Map<string, string>();
  const rename = (name: string): string => {
    let renamed = names.get(name);
    if (renamed === undefined) {
      renamed = `${MARK}${name.includes('-cls-') ? 'cls' : (/^zr\d+-([a-z]+)/.exec(name)?.[1] ?? 'x')}${names.size}`;
      names.set(name, renamed);
    }
    return renamed;
  };
  const marked = svg.replace(SCAN, (match) => {
    if (match.startsWith('>')) return match;
    if (match.startsWith('<')) return match.replace(GENERATED_NAME, rename);
    return rename(match);
  });
  const prefix = `tb${createHash('sha256').update(marked.replaceAll(MARK, 'zr-')).digest('hex').slice(0, 10)}`;
  return marked.replaceAll(MARK, `${prefix}-`);
}

const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };
const escapeXml = (text: string): string => text.replace(/[&<>"]/g, (c) => XML_ESCAPES[c] as string);

/** The SSR renderer writes no accessible name: a `<title>` and an aria label say what the chart shows. */
function withTitle(svg: string, text: string): string {
  const escaped = escapeXml(text);
  return svg
    .replace(/^<svg /, `<svg role="img" aria-label="${escaped}" `)
    .replace(/^(<svg[^>]*>)/, `$1<title>${escaped}</title>`);
}

/**
 * The renderer wraps its style sheet in CDATA; the rules it writes (classes, colours, cursors) hold no `<` or `&`, so
 * the wrapper goes, and the SVG's CSS reads as plain CSS to any tool (some linters stop at CDATA). A sheet that
 * needed it would keep it.
 */
function withoutCdata(svg: string): string {
  return svg.replace(/<!\[CDATA\[([\s\S]*?)\]\]>/g, (block, css: string) => (/[<&]/.test(css) ? block : css));
}

/**
 * Renders a chart model to an SVG document.
 * @param model - The chart model.
 * @param width - Pixel width.
 * @returns The SVG markup (UTF-8 text, starting with `<svg`).
 */
export function renderChartModelSvg(model: ChartModel, width?: number): string {
  const built = buildTumourBurdenOption(model, { width, interactive: false });
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width: built.width, height: built.height });
  try {
    chart.setOption(built.option);
    return withTitle(stableNames(withoutCdata(chart.renderToSVGString())), chartDescription(model));
  } finally {
    chart.dispose();
  }
}

/**
 * The tumour-burden chart of one patient's assessment as SVG, for a report's `presentedForm` (`image/svg+xml`).
 * @param assessment - The engine's assessment.
 * @param options - `record` (doses, ctDNA, markers from the mapped record), `asOf` (draw only what was known on that
 *   date: give each report its own date so its chart never changes later), `width`.
 * @returns The SVG markup; the same input always gives the same bytes.
 */
export function renderTumourBurdenSvg(assessment: Assessment, options: SvgChartOptions = {}): string {
  return renderChartModelSvg(chartModelOf(assessment, options), options.width);
}
