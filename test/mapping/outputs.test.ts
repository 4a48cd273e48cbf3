/**
 * What the adapter renders per server (issue #9 item 1, issue #10 item 1): the mCODE CancerDiseaseStatus Observation,
 * the report DocumentReference where a DiagnosticReport cannot be created, the chart in each recent report, and the
 * `outputs` option with its references.
 */
import type { Attachment, Bundle, DocumentReference, Flag, Observation, Resource } from '@medplum/fhirtypes';
import { XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { EXTENSION, MCODE, PROFILE, REPORT_DOCUMENT } from '../../src/codes.ts';
import type { PatientStatus, TimepointResponse } from '../../src/domain/types.ts';
import { FULL_SERVER_OUTPUTS, outputsFor, type RenderedOutputs } from '../../src/mapping/rendered-outputs.ts';
import { CHART_REPORTS, clearReportCharts } from '../../src/mapping/report-chart.ts';
import { diseaseStatusTrend } from '../../src/mapping/write-disease-status.ts';
import { assessBundle } from '../../src/pipeline/assess-resources.ts';
import { readCase } from '../cli/case-check.ts';
import { bodyStructure, bundle, imagingStudy, medicationAdministration, mm, patient, tumorSize } from './builders.ts';

const NOW = '2026-07-01T00:00:00.000Z';
const EPIC: RenderedOutputs = { flag: false, diagnosticReport: false, documentReference: true, provenance: false };

const run = (input: unknown, outputs?: RenderedOutputs, chartReports?: number) =>
  assessBundle(input, { now: NOW, outputs, chartReports }).transaction;
const resources = (t: Bundle) => (t.entry ?? []).map((e) => e.resource as Resource);
const isDiseaseStatus = (r: Resource): r is Observation =>
  r.resourceType === 'Observation' && r.code?.coding?.[0]?.code === MCODE.code.code;
const diseaseStatuses = (t: Bundle) => resources(t).filter(isDiseaseStatus);
const extensionCode = (o: Observation, url: string) =>
  o.extension?.find((e) => e.url === url)?.valueCodeableConcept?.coding?.[0]?.code;
const caseBundle = (name: string) => readCase(name).bundle;

describe('CancerDiseaseStatus', () => {
  it.each<[TimepointResponse, PatientStatus, string]>([
    ['iCR', 'responding', 'improved'],
    ['iPR', 'responding', 'improved'],
    ['iPR', 'pseudoprogression', 'improved'],
    ['iSD', 'stable', 'stable'],
    ['iSD', 'pseudoprogression', 'stable'],
    ['iNN', 'stable', 'stable'],
    ['iUPD', 'possible-pseudoprogression', 'worsened'],
    ['iUPD', 'hyperprogression', 'worsened'],
    ['iCPD', 'confirmed-progression', 'worsened'],
    ['NE', 'not-evaluable', 'undetermined'],
    ['NE', 'possible-pseudoprogression', 'undetermined'],
    ['NE', 'confirmed-progression', 'worsened'],
    ['iSD', 'hyperprogression', 'worsened'],
  ])('%s with status %s is %s', (response, status, trend) => {
    expect(diseaseStatusTrend(response, status)).toBe(trend);
  });

  it('one per timepoint: LOINC 97509-4, SNOMED trend, evidence imaging, the response and status as extensions', () => {
    const t = run(caseBundle('pseudoprogression'));
    const statuses = diseaseStatuses(t);
    expect(statuses.map((o) => [o.effectiveDateTime, o.valueCodeableConcept?.coding?.[0]?.code])).toEqual([
      ['2026-03-09', MCODE.worsened.code],
      ['2026-04-20', MCODE.stable.code],
      ['2026-06-15', MCODE.improved.code],
    ]);
    const [first] = statuses;
    expect(first?.meta?.profile).toEqual([PROFILE.diseaseStatus, MCODE.cancerDiseaseStatusProfile]);
    expect(first?.identifier?.[0]?.value).toBe('pseudoprogression/disease-status/2026-03-09');
    expect(first?.component).toBeUndefined();
    expect(extensionCode(first!, EXTENSION.mcodeEvidenceType)).toBe('363679005');
    expect(extensionCode(first!, EXTENSION.irecistResponse)).toBe('iUPD');
    expect(extensionCode(first!, EXTENSION.irecistPatientStatus)).toBe('possible-pseudoprogression');
    expect(first?.valueCodeableConcept?.text).toBe(
      "Patient's condition worsened: unconfirmed progression (iUPD) on imaging; status possible pseudoprogression",
    );
    expect(first?.note?.[0]?.text).toMatch(
      /^Next step: confirm with a scan between 2026-04-06 and 2026-05-04 .*Produced automatically by irecist-adapter .*not reviewed/,
    );
  });

  it('focus = the lesions of the timepoint that have a BodyStructure; derivedFrom = the timepoint Observation and scans', () => {
    const rs: Resource[] = [patient(), bodyStructure('L1'), medicationAdministration('ma1', '2020-01-10')];
    for (const [i, date, ld] of [
      [0, '2020-01-06', 40],
      [1, '2020-02-17', 30],
    ] as const) {
      rs.push(imagingStudy(`s${i}`, date));
      rs.push(tumorSize(`o${i}`, { lesion: 'L1', date, study: `s${i}`, ld: mm(ld), role: 'target' }));
    }
    // A measurement of a lesion whose BodyStructure is not in the input: assessed, but no focus for it.
    rs.push(tumorSize('x1', { lesion: 'L9', date: '2020-02-17', study: 's1', ld: mm(12), role: 'new' }));
    const t = run(bundle(rs));
    const [status] = diseaseStatuses(t);
    expect(status?.focus).toEqual([{ reference: 'BodyStructure/L1' }]);
    const timepointUrl = t.entry?.find(
      (e) => e.resource?.resourceType === 'Observation' && !isDiseaseStatus(e.resource),
    )?.fullUrl;
    expect(status?.derivedFrom).toEqual([{ reference: timepointUrl }, { reference: 'ImagingStudy/s1' }]);
  });
});

describe('outputs', () => {
  it('default = a full server: timepoint Observation, DiagnosticReport, disease status, Flag, Provenance', () => {
    const t = run(caseBundle('confirmed-progression'));
    expect(new Set(resources(t).map((r) => r.resourceType))).toEqual(
      new Set(['Observation', 'DiagnosticReport', 'Flag', 'Provenance']),
    );
    expect(run(caseBundle('confirmed-progression'), { ...FULL_SERVER_OUTPUTS })).toEqual(t);
  });

  it('outputsFor: a DocumentReference only where a DiagnosticReport cannot be created', () => {
    expect(outputsFor(() => true)).toEqual(FULL_SERVER_OUTPUTS);
    const epic = new Set(['Observation', 'DocumentReference']);
    expect(outputsFor((type) => epic.has(type))).toEqual({ ...EPIC, observation: true });
  });

  it('epic-like: Observations and DocumentReferences only; the disease status points to the note', () => {
    const t = run(caseBundle('pseudoprogression'), EPIC);
    expect(resources(t).map((r) => r.resourceType)).toEqual([
      ...['Observation', 'DocumentReference', 'Observation'],
      ...['Observation', 'DocumentReference', 'Observation'],
      ...['Observation', 'DocumentReference', 'Observation'],
    ]);
    expect(t.entry?.every((e) => e.request?.method === 'PUT' && e.request.url.includes('?identifier='))).toBe(true);
    const docs = t.entry?.filter((e) => e.resource?.resourceType === 'DocumentReference') ?? [];
    for (const status of diseaseStatuses(t)) {
      const doc = docs.find(
        (e) => (e.resource as DocumentReference).context?.period?.start === status.effectiveDateTime,
      );
      expect(status.derivedFrom).toContainEqual({ reference: doc?.fullUrl });
    }
  });

  it('a Flag without a DiagnosticReport points to the DocumentReference', () => {
    const t = run(caseBundle('pseudoprogression'), { ...EPIC, flag: true });
    const flag = resources(t).find((r): r is Flag => r.resourceType === 'Flag');
    const latestDoc = t.entry?.filter((e) => e.resource?.resourceType === 'DocumentReference').at(-1);
    expect(flag?.extension?.find((e) => e.url === EXTENSION.flagDetail)?.valueReference?.reference).toBe(
      latestDoc?.fullUrl,
    );
  });

  it('without Observation: no timepoint Observation, no disease status, no DiagnosticReport (its result is required)', () => {
    const t = run(caseBundle('pseudoprogression'), { ...EPIC, observation: false });
    expect(resources(t).map((r) => r.resourceType)).toEqual(Array(3).fill('DocumentReference'));
  });
});

describe('DocumentReference', () => {
  const docs = (t: Bundle) =>
    resources(t).filter((r): r is DocumentReference => r.resourceType === 'DocumentReference');

  it('a clinical note per timepoint: LOINC 18748-4, current/final, the text and the chart, related to the scan', () => {
    const t = run(caseBundle('pseudoprogression'), EPIC, 3);
    const [doc] = docs(t);
    expect(doc).toMatchObject({
      meta: { profile: [PROFILE.reportDocument] },
      identifier: [{ value: 'pseudoprogression/report-document/2026-03-09' }],
      status: 'current',
      docStatus: 'final',
      type: { coding: [REPORT_DOCUMENT.type] },
      category: [{ coding: [REPORT_DOCUMENT.category] }],
      subject: { reference: 'Patient/pseudoprogression' },
      date: '2026-03-09T00:00:00Z',
    });
    expect(doc?.content.map((c) => c.attachment.contentType)).toEqual(['text/plain; charset=utf-8', 'image/svg+xml']);
    const text = Buffer.from(doc?.content[0]?.attachment.data ?? '', 'base64').toString('utf8');
    expect(text).toContain('Lesions\n');
    const related = doc?.context?.related?.map((r) => r.reference) ?? [];
    expect(related.some((r) => r?.startsWith('ImagingStudy/'))).toBe(true);
    const timepointUrl = t.entry?.[0]?.fullUrl;
    expect(related).toContain(timepointUrl);
  });

  it('the same input gives the same bytes (idempotent), in another process state too', () => {
    const a = JSON.stringify(run(caseBundle('responder'), EPIC));
    clearReportCharts();
    const b = JSON.stringify(run(structuredClone(caseBundle('responder')), EPIC));
    expect(b).toBe(a);
  });
});

describe('the chart in presentedForm', () => {
  const attachmentsOf = (t: Bundle): Attachment[][] =>
    resources(t)
      .filter((r) => r.resourceType === 'DiagnosticReport')
      .map((r) => (r as { presentedForm?: Attachment[] }).presentedForm ?? []);
  const svgOf = (a: Attachment | undefined) => Buffer.from(a?.data ?? '', 'base64').toString('utf8');

  it('each report carries its text and its chart (valid SVG), drawn as of its own date', () => {
    const forms = attachmentsOf(run(caseBundle('pseudoprogression'), undefined, 3));
    expect(forms).toHaveLength(3);
    for (const form of forms) {
      expect(form.map((a) => a.contentType)).toEqual(['text/plain; charset=utf-8', 'image/svg+xml']);
      const svg = svgOf(form[1]);
      expect(svg.startsWith('<svg')).toBe(true);
      expect(XMLValidator.validate(svg)).toBe(true);
    }
    // As of its own date: the first report's chart does not show the later scans.
    expect(svgOf(forms[0]?.[1])).not.toContain('2026-06-15');
    expect(svgOf(forms[2]?.[1])).toContain('2026-06-15');
  });

  it('only the most recent CHART_REPORTS reports carry the chart; older reports the text alone', () => {
    const rs: Resource[] = [patient(), bodyStructure('L1'), medicationAdministration('ma1', '2020-01-10')];
    for (let i = 0; i <= 6; i++) {
      const date = `2020-0${i + 1}-06`;
      rs.push(imagingStudy(`s${i}`, date));
      rs.push(tumorSize(`o${i}`, { lesion: 'L1', date, study: `s${i}`, ld: mm(50 - i), role: 'target' }));
    }
    const counts = attachmentsOf(run(bundle(rs))).map((f) => f.length);
    expect(CHART_REPORTS).toBe(1);
    expect(counts).toEqual([1, 1, 1, 1, 1, 2]);
    expect(attachmentsOf(run(bundle(rs), undefined, 3)).map((f) => f.length)).toEqual([1, 1, 1, 2, 2, 2]);
    expect(attachmentsOf(run(bundle(rs), undefined, 0)).map((f) => f.length)).toEqual([1, 1, 1, 1, 1, 1]);
  });

  it('same bytes whether the chart was drawn now or taken from the memo', () => {
    clearReportCharts();
    const a = JSON.stringify(run(caseBundle('hyperprogression')));
    const b = JSON.stringify(run(caseBundle('hyperprogression')));
    expect(b).toBe(a);
  });
});
