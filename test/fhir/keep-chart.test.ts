/**
 * Only the latest reports are drawn at each assessment; an older report the adapter wrote with a chart keeps it while
 * the rest of it is unchanged (no new version each time a later scan arrives), and loses it when its content changed
 * (a chart drawn from other data would be stale).
 */
import { readFileSync } from 'node:fs';
import type { BundleEntry, DiagnosticReport, Resource } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { parseCapabilities } from '../../src/fhir/capabilities.ts';
import { withDigest } from '../../src/fhir/ownership.ts';
import { reconcileWrites } from '../../src/fhir/reconcile-writes.ts';
import { planWrites } from '../../src/fhir/write-plan.ts';
import { SVG_CONTENT_TYPE } from '../../src/mapping/report-chart.ts';
import { assessBundle } from '../../src/pipeline/assess-resources.ts';
import { medplumLike } from './capability-fixtures.ts';

const bundle = JSON.parse(
  readFileSync(new URL('../../samples/cases/pseudoprogression.bundle.json', import.meta.url), 'utf8'),
);
const plan = planWrites(parseCapabilities(medplumLike));
const NOW = '2026-07-01T00:00:00Z';
const reports = (entries: readonly BundleEntry[]) =>
  entries.filter((e) => e.resource?.resourceType === 'DiagnosticReport').map((e) => e.resource as DiagnosticReport);
const hasChart = (r: DiagnosticReport) => r.presentedForm?.some((a) => a.contentType === SVG_CONTENT_TYPE) ?? false;

/** What the server holds after the adapter wrote every rendered resource (ids and versions assigned). */
function onServer(entries: readonly BundleEntry[]): Resource[] {
  return entries
    .filter((e) => e.resource && e.resource.resourceType !== 'Provenance')
    .map((e, i) => ({
      ...withDigest(e.resource as Resource),
      id: `r${i}`,
      meta: { ...withDigest(e.resource as Resource).meta, versionId: '1' },
    }));
}

describe('a written report keeps its chart', () => {
  it('is left unchanged when it is no longer drawn but is otherwise the same', () => {
    const first = assessBundle(bundle, { now: NOW, chartReports: 10 }).transaction.entry ?? [];
    expect(reports(first).every(hasChart)).toBe(true);
    const existing = onServer(first);
    const later = assessBundle(bundle, { now: NOW, chartReports: 1 }).transaction.entry ?? [];
    expect(reports(later).filter(hasChart)).toHaveLength(1);
    const out = reconcileWrites(later, existing, plan, new Set());
    expect(reports(out.entries)).toEqual([]);
  });

  it('goes out without the old chart when its content changed', () => {
    const first = assessBundle(bundle, { now: NOW, chartReports: 10 }).transaction.entry ?? [];
    const existing = onServer(first).map((r) =>
      r.resourceType === 'DiagnosticReport' ? withDigest({ ...r, conclusion: `${r.conclusion} (older wording)` }) : r,
    );
    const later = assessBundle(bundle, { now: NOW, chartReports: 1 }).transaction.entry ?? [];
    const written = reports(reconcileWrites(later, existing, plan, new Set()).entries);
    expect(written).toHaveLength(3);
    expect(written.filter(hasChart)).toHaveLength(1);
  });
});
