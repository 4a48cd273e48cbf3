/** The rendered transaction (contract section 2): entry shapes and the size of each report's rendered summary. */
import type { Bundle, DiagnosticReport, Resource } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { SYSTEM } from '../../src/codes.ts';
import { addDays } from '../../src/domain/dates.ts';
import { SUMMARY_TIMEPOINTS } from '../../src/mapping/to-transaction.ts';
import { assessBundle } from '../../src/pipeline/assess-resources.ts';
import { bodyStructure, bundle, imagingStudy, medicationAdministration, mm, patient, tumorSize } from './builders.ts';

const NOW = '2026-07-01T00:00:00.000Z';

/** One target lesion scanned every six weeks, `n` follow-ups, slowly shrinking. */
function longHistory(n: number): Resource[] {
  const rs: Resource[] = [patient(), bodyStructure('L1'), medicationAdministration('ma1', '2020-01-10')];
  for (let i = 0; i <= n; i++) {
    const date = addDays('2020-01-06', i * 42);
    rs.push(imagingStudy(`s${i}`, date));
    rs.push(tumorSize(`o${i}`, { lesion: 'L1', date, study: `s${i}`, ld: mm(Math.max(12, 60 - i)), role: 'target' }));
  }
  return rs;
}
const reports = (t: Bundle) =>
  (t.entry ?? []).map((e) => e.resource).filter((r): r is DiagnosticReport => r?.resourceType === 'DiagnosticReport');
const summaryOf = (r: DiagnosticReport) => Buffer.from(r.presentedForm?.[0]?.data ?? '', 'base64').toString('utf8');

describe('toTransaction', () => {
  it('each report shows the timeline up to its own date, the most recent timepoints only', () => {
    const rs = reports(assessBundle(bundle(longHistory(40)), { now: NOW }).transaction);
    expect(rs).toHaveLength(40);
    rs.forEach((r, i) => {
      const table = summaryOf(r)
        .split('\n\n')
        .find((block) => block.startsWith('Timeline\n'))!
        .split('\n')
        .slice(1);
      const dates = table.map((l) => l.slice(0, 10)).filter((d) => /^\d{4}-\d{2}-\d{2}$/.test(d));
      expect(dates[0]).toBe('2020-01-06'); // the baseline row
      expect(dates.at(-1)).toBe(r.effectiveDateTime);
      expect(dates.length - 1).toBe(Math.min(i + 1, SUMMARY_TIMEPOINTS));
      if (i + 1 > SUMMARY_TIMEPOINTS)
        expect(table[2]).toMatch(new RegExp(`^\\(${i + 1 - SUMMARY_TIMEPOINTS} earlier\\)`));
    });
  });

  it('the output grows linearly with the history', () => {
    const size = (n: number) => JSON.stringify(assessBundle(bundle(longHistory(n)), { now: NOW }).transaction).length;
    const [a, b] = [size(50), size(200)];
    expect(b / a).toBeLessThan(4.5);
  });

  it('entries: conditional PUT by identifier for results (timepoint Observation, report, disease status), conditional create for the Flag and the Provenance', () => {
    const rs = longHistory(2);
    rs.push(tumorSize('new1', { lesion: 'L9', date: addDays('2020-01-06', 84), study: 's2', ld: mm(15), role: 'new' }));
    rs.push(bodyStructure('L9', { coding: [{ system: SYSTEM.snomed, code: '10200004' }] }));
    const t = assessBundle(bundle(rs), { now: NOW }).transaction;
    expect(t.type).toBe('transaction');
    expect(
      t.entry?.map(
        (e) =>
          `${e.resource?.resourceType} ${e.request?.method} ${e.request?.url}${e.request?.ifNoneExist ? ' if-none-exist' : ''}`,
      ),
    ).toEqual([
      'Observation PUT Observation?identifier=https%3A%2F%2Firecist-adapter.dev%2Ffhir%2Fidentifier%7Cp1%2Ftimepoint-response%2F2020-02-17',
      'DiagnosticReport PUT DiagnosticReport?identifier=https%3A%2F%2Firecist-adapter.dev%2Ffhir%2Fidentifier%7Cp1%2Freport%2F2020-02-17',
      'Observation PUT Observation?identifier=https%3A%2F%2Firecist-adapter.dev%2Ffhir%2Fidentifier%7Cp1%2Fdisease-status%2F2020-02-17',
      'Observation PUT Observation?identifier=https%3A%2F%2Firecist-adapter.dev%2Ffhir%2Fidentifier%7Cp1%2Ftimepoint-response%2F2020-03-30',
      'DiagnosticReport PUT DiagnosticReport?identifier=https%3A%2F%2Firecist-adapter.dev%2Ffhir%2Fidentifier%7Cp1%2Freport%2F2020-03-30',
      'Observation PUT Observation?identifier=https%3A%2F%2Firecist-adapter.dev%2Ffhir%2Fidentifier%7Cp1%2Fdisease-status%2F2020-03-30',
      'Flag POST Flag if-none-exist',
      'Provenance POST Provenance if-none-exist',
    ]);
  });
});
