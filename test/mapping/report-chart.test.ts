/**
 * A chart the charting library refuses to draw (ECharts asserts on an infinite axis scale; found by the assess fuzzer:
 * two target lesions of 1e308 mm at one scan) never stops the pipeline: the report goes out with its text alone.
 */
import { readFileSync } from 'node:fs';
import type { Attachment, Resource } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { clearReportCharts } from '../../src/mapping/report-chart.ts';
import { assessBundle } from '../../src/pipeline/assess-resources.ts';

const FIXTURE = new URL('../fixtures/bundles/chart-infinite-scale.bundle.json', import.meta.url);

describe('a chart that cannot be drawn', () => {
  it('is left out of presentedForm; the report keeps its text', () => {
    clearReportCharts();
    const input = JSON.parse(readFileSync(FIXTURE, 'utf8'));
    const t = assessBundle(input, { now: '2026-07-01T00:00:00.000Z' }).transaction;
    const forms = (t.entry ?? [])
      .map((e) => e.resource as Resource)
      .filter((r) => r.resourceType === 'DiagnosticReport')
      .map((r) => ((r as { presentedForm?: Attachment[] }).presentedForm ?? []).map((a) => a.contentType));
    expect(forms.length).toBeGreaterThan(0);
    expect(forms.at(-1)).toEqual(['text/plain; charset=utf-8']);
  });
});
