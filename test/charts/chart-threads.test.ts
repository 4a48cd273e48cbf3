/**
 * The chart thread (src/charts/chart-threads.ts): a real worker thread draws the same bytes as the main thread, an
 * undrawable chart answers undefined and the pipeline still goes out with the text alone, and the pipeline that draws
 * ahead gives the same transaction as the one that draws inline, drawing each chart once, on the thread.
 */
import { readFileSync } from 'node:fs';
import type { Attachment, Bundle, Resource } from '@medplum/fhirtypes';
import { afterAll, describe, expect, it } from 'vitest';
import { chartModelOf } from '../../src/charts/chart-data.ts';
import { type ChartThreads, createChartThreads } from '../../src/charts/chart-threads.ts';
import { renderChartModelSvg } from '../../src/charts/render-svg.ts';
import { readBundle } from '../../src/mapping/read-bundle.ts';
import { clearReportCharts } from '../../src/mapping/report-chart.ts';
import { assessBundle, assessResourcesDrawingAhead } from '../../src/pipeline/assess-resources.ts';
import { readCase } from '../cli/case-check.ts';

const NOW = '2026-07-01T00:00:00.000Z';
const threads = createChartThreads();
afterAll(() => threads.close());

/** The thread, counting the drawings asked of it. */
function counting(inner: ChartThreads): ChartThreads & { asked: number } {
  const wrapped = {
    asked: 0,
    draw: (...args: Parameters<ChartThreads['draw']>) => {
      wrapped.asked++;
      return inner.draw(...args);
    },
    close: () => inner.close(),
  };
  return wrapped;
}

const svgsOf = (t: Bundle): string[] =>
  (t.entry ?? [])
    .map((e) => e.resource as Resource)
    .filter((r) => r.resourceType === 'DiagnosticReport')
    .flatMap((r) => (r as { presentedForm?: Attachment[] }).presentedForm ?? [])
    .filter((a) => a.contentType === 'image/svg+xml')
    .map((a) => a.data ?? '');

describe('chart thread', () => {
  it('draws the same bytes as the main thread', async () => {
    const assessed = assessBundle(readCase('pseudoprogression').bundle, { now: NOW });
    const model = chartModelOf(assessed.assessment, { record: assessed.mapped.record });
    const drawn = await threads.draw(model);
    expect(drawn).toBeDefined();
    expect(drawn).toBe(renderChartModelSvg(model));
  });

  it('answers undefined for a chart the library cannot draw, and the report keeps its text', async () => {
    const input = JSON.parse(
      readFileSync(new URL('../fixtures/bundles/chart-infinite-scale.bundle.json', import.meta.url), 'utf8'),
    );
    clearReportCharts();
    const { resources, aliases } = readBundle(input);
    const t = (await assessResourcesDrawingAhead(resources, { now: NOW, aliases }, threads)).transaction;
    expect(svgsOf(t)).toEqual([]);
    const forms = (t.entry ?? []).filter((e) => e.resource?.resourceType === 'DiagnosticReport');
    expect(forms.length).toBeGreaterThan(0);
  });

  it('gives the pipeline the same transaction as drawing inline, each chart drawn once on the thread', async () => {
    for (const name of ['pseudoprogression', 'confirmed-progression', 'hyperprogression']) {
      const bundle = readCase(name).bundle;
      clearReportCharts();
      const inline = assessBundle(bundle, { now: NOW }).transaction;
      clearReportCharts();
      const thread = counting(threads);
      const { resources, aliases } = readBundle(bundle);
      const ahead = (await assessResourcesDrawingAhead(resources, { now: NOW, aliases }, thread)).transaction;
      expect(ahead).toEqual(inline);
      expect(svgsOf(ahead)).toHaveLength(1);
      expect(thread.asked).toBe(1);
      // Memoised: assessed again, nothing is drawn.
      await assessResourcesDrawingAhead(resources, { now: NOW, aliases }, thread);
      expect(thread.asked).toBe(1);
    }
  });

  it('answers pending drawings when closed, and starts again on the next one', async () => {
    const own = createChartThreads();
    const assessed = assessBundle(readCase('pseudoprogression').bundle, { now: NOW });
    const model = chartModelOf(assessed.assessment, { record: assessed.mapped.record });
    const pending = own.draw(model);
    await own.close();
    expect(await pending).toBeUndefined();
    expect(await own.draw(model)).toBe(renderChartModelSvg(model));
    await own.close();
  });
});
