/**
 * Ownership of what the adapter wrote, and retractions (issue #11 items 1 and 2), over HTTP against the sandbox: a
 * clinician's change or delete is left alone at the next assessment, a report whose finding changed after a
 * clinician amended it is superseded by a new report pointing at theirs, and the outputs of a timepoint that no
 * longer exists (scan retracted, baseline moved) are set entered-in-error with the Flag following. Each time,
 * what `assess` gives for the server's current data is what the adapter's own resources say.
 */
import type { DiagnosticReport, Flag, Observation, Provenance, Resource } from '@medplum/fhirtypes';
import { afterEach, describe, expect, it } from 'vitest';
import { SUPERSEDES_EXTENSION } from '../../src/fhir/reconcile-writes.ts';
import { changeCase, type TestCase } from '../e2e/cases.ts';
import { loadIntoSandbox } from '../e2e/harness.ts';
import {
  adapterResources,
  expectAgreesWithAssess,
  expectAllValid,
  loadSample,
  notWrittenCount,
  startWriteBench,
  type WriteBench,
} from './write-harness.ts';

const P = 'confirmed-progression';
const LATEST = '2026-04-20';
const FIRST = '2026-03-09';
let bench: WriteBench;
afterEach(async () => {
  await bench?.close();
});

async function clinician(path: string, init: { method: string; body?: Resource }): Promise<number> {
  const res = await fetch(`${bench.server.baseUrl}/${path}`, {
    method: init.method,
    headers: { 'content-type': 'application/fhir+json' },
    ...(init.body ? { body: JSON.stringify(init.body) } : {}),
  });
  await res.text();
  return res.status;
}

/** Something unrelated changes in the chart (a body weight), and the patient is assessed again. */
async function unrelatedChange(): Promise<void> {
  const weight: Observation = {
    resourceType: 'Observation',
    id: `${P}-weight-${Math.random().toString(36).slice(2, 8)}`,
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '29463-7', display: 'Body weight' }] },
    subject: { reference: `Patient/${P}` },
    effectiveDateTime: '2026-04-21',
    valueQuantity: { value: 70, unit: 'kg', system: 'http://unitsofmeasure.org', code: 'kg' },
  };
  await loadIntoSandbox(bench.server.url, {
    resourceType: 'Bundle',
    type: 'collection',
    entry: [{ resource: weight }],
  });
  await bench.assess(P);
}

const keyOf = (r: Resource) => (r as { identifier?: { value?: string }[] }).identifier?.[0]?.value ?? '';
const reportOf = (date: string) =>
  adapterResources<DiagnosticReport>(bench, 'DiagnosticReport', P).filter((r) => keyOf(r) === `${P}/report/${date}`);
const timepointOf = (date: string) =>
  adapterResources<Observation>(bench, 'Observation', P).filter((r) => keyOf(r) === `${P}/timepoint-response/${date}`);
const flags = () => adapterResources<Flag>(bench, 'Flag', P);
const versions = async (type: string, id: string) =>
  (await bench.server.repo.readHistory(type as 'Flag', id)).entry?.length ?? 0;

async function start(profile: 'medplum' | 'epic' = 'medplum'): Promise<TestCase> {
  bench = await startWriteBench(profile);
  const tc = await loadSample(bench, P);
  await bench.assess(P);
  return tc;
}

/** The case with the latest scan's study and measurements retracted (entered-in-error). */
const retractScan = (tc: TestCase, scan: number) =>
  changeCase(tc, (r) =>
    r.id === `${P}-study${scan}` || r.id === `${P}-L1-t${scan}` || r.id === `${P}-L2-t${scan}`
      ? ({ ...r, status: 'entered-in-error' } as Resource)
      : r,
  );

/** A further scan on `date`, each lesion `grow` mm larger than at the latest scan (same state, a later assessment). */
function addScan(tc: TestCase, date: string, grow: number): TestCase {
  const copies = tc.resources
    .filter((r) => [`${P}-study2`, `${P}-L1-t2`, `${P}-L2-t2`].includes(r.id ?? ''))
    .map((r) => {
      const text = JSON.stringify(r).replaceAll('-t2', '-t3').replaceAll('study2', 'study3').replaceAll(LATEST, date);
      const o = JSON.parse(text) as Observation;
      if (o.resourceType !== 'Observation') return o as Resource;
      return {
        ...o,
        component: o.component?.map((c) => ({
          ...c,
          valueQuantity: { ...c.valueQuantity, value: (c.valueQuantity?.value ?? 0) + grow },
        })),
      } as Resource;
    });
  return { ...tc, resources: [...tc.resources, ...copies] };
}

async function reload(tc: TestCase): Promise<void> {
  await loadIntoSandbox(bench.server.url, {
    resourceType: 'Bundle',
    type: 'collection',
    entry: tc.resources.map((resource) => ({ resource })),
  });
}

describe('what the adapter will and will not touch', () => {
  it('leaves a report a clinician set entered-in-error as they left it at the next unrelated change', async () => {
    await start();
    const [report] = reportOf(LATEST);
    expect(report?.status).toBe('final');
    expect(
      await clinician(`DiagnosticReport/${report!.id}`, {
        method: 'PUT',
        body: { ...report!, status: 'entered-in-error' },
      }),
    ).toBe(200);
    const before = await versions('DiagnosticReport', report!.id!);
    await unrelatedChange();
    expect(reportOf(LATEST).map((r) => r.status)).toEqual(['entered-in-error']);
    expect(await versions('DiagnosticReport', report!.id!)).toBe(before);
    expect(await notWrittenCount(bench, 'DiagnosticReport', 'changed-by-others')).toBeGreaterThan(0);
  });

  it('keeps an amended conclusion', async () => {
    await start();
    const [report] = reportOf(LATEST);
    const amended = { ...report!, status: 'amended' as const, conclusion: 'Reviewed: progression confirmed. Dr Who.' };
    expect(await clinician(`DiagnosticReport/${report!.id}`, { method: 'PUT', body: amended })).toBe(200);
    await unrelatedChange();
    expect(reportOf(LATEST).map((r) => [r.status, r.conclusion])).toEqual([['amended', amended.conclusion]]);
  });

  it('keeps a note a clinician added to the Flag', async () => {
    const tc = await start();
    const [flag] = flags().filter((f) => f.status === 'active');
    // R4 Flag has no note element: the hospital's note rides in an extension, and the text says so too.
    const noted = {
      ...flag!,
      extension: [
        ...(flag!.extension ?? []),
        { url: 'http://hospital.example/fhir/flag-note', valueString: 'Tumour board: continue.' },
      ],
      code: { ...flag!.code, text: `${flag!.code?.text} Seen at tumour board.` },
    };
    expect(await clinician(`Flag/${flag!.id}`, { method: 'PUT', body: noted })).toBe(200);
    const before = await versions('Flag', flag!.id!);
    // A later scan in the same state: the adapter's Flag text would name the new assessment date.
    await reload(addScan(tc, '2026-06-01', 5));
    await bench.assess(P);
    expect(timepointOf('2026-06-01').map((o) => o.valueCodeableConcept?.coding?.[0]?.code)).toEqual(['iCPD']);
    const now = flags().find((f) => f.id === flag!.id);
    expect(now?.extension).toEqual(noted.extension);
    expect(now?.code?.text).toBe(noted.code.text);
    expect(now?.status).toBe('active');
    expect(await versions('Flag', flag!.id!)).toBe(before);
  });

  it('does not bring back a Flag a clinician deleted for the same state', async () => {
    await start();
    const [flag] = flags().filter((f) => f.status === 'active');
    expect(await clinician(`Flag/${flag!.id}`, { method: 'DELETE' })).toBeLessThan(300);
    await unrelatedChange();
    expect(flags()).toEqual([]);
    expect(await notWrittenCount(bench, 'Flag', 'deleted-by-others')).toBe(1);
  });

  it('supersedes a report a clinician amended when its finding changes, pointing at theirs', async () => {
    const tc = await start();
    const [report] = reportOf(FIRST);
    const amended = { ...report!, status: 'amended' as const, conclusion: 'Reviewed by radiology.' };
    expect(await clinician(`DiagnosticReport/${report!.id}`, { method: 'PUT', body: amended })).toBe(200);
    // A measurement at that scan is corrected (40 -> 42 mm): the finding for the timepoint changes.
    await reload(
      changeCase(tc, (r) => {
        if (r.id !== `${P}-L1-t1`) return r;
        const o = r as Observation;
        return {
          ...o,
          component: o.component?.map((c) => ({ ...c, valueQuantity: { ...c.valueQuantity, value: 42 } })),
        };
      }),
    );
    await bench.assess(P);
    const all = adapterResources<DiagnosticReport>(bench, 'DiagnosticReport', P).filter((r) =>
      keyOf(r).startsWith(`${P}/report/${FIRST}`),
    );
    const theirs = all.find((r) => r.id === report!.id);
    const ours = all.find((r) => r.id !== report!.id);
    expect(theirs).toMatchObject({ status: 'amended', conclusion: amended.conclusion });
    expect(ours?.status).toBe('final');
    expect(keyOf(ours!)).toBe(`${P}/report/${FIRST}/supersedes/${report!.id}`);
    expect(ours?.extension?.find((e) => e.url === SUPERSEDES_EXTENSION)?.valueReference?.reference).toBe(
      `DiagnosticReport/${report!.id}`,
    );
    expectAllValid(bench, P);
    // Written once: assessed again, nothing more.
    await bench.assess(P);
    expect(
      adapterResources<DiagnosticReport>(bench, 'DiagnosticReport', P).filter((r) =>
        keyOf(r).startsWith(`${P}/report/${FIRST}`),
      ),
    ).toHaveLength(2);
  });
});

describe('retractions', () => {
  it('sets the outputs of a retracted scan entered-in-error; the Flag follows', async () => {
    const tc = await start();
    const [before] = flags().filter((f) => f.status === 'active');
    expect(before?.code?.coding?.[0]?.code).toBe('confirmed-progression');
    await reload(retractScan(tc, 2));
    const outcome = await bench.assess(P);
    // The report, the timepoint Observation and the CancerDiseaseStatus Observation of that scan.
    expect(outcome?.retracted).toBe(3);
    expect(
      adapterResources<Observation>(bench, 'Observation', P)
        .filter((o) => keyOf(o) === `${P}/disease-status/${LATEST}`)
        .map((o) => o.status),
    ).toEqual(['entered-in-error']);
    expect(reportOf(LATEST).map((r) => r.status)).toEqual(['entered-in-error']);
    expect(timepointOf(LATEST).map((r) => r.status)).toEqual(['entered-in-error']);
    expect(reportOf(FIRST).map((r) => r.status)).toEqual(['final']);
    // With Provenance: the retraction is recorded against the retracted report.
    const retractedRef = `DiagnosticReport/${reportOf(LATEST)[0]?.id}`;
    const provenances = bench.server.repo.listCurrent<Provenance>('Provenance');
    expect(provenances.some((p) => p.target.some((t) => t.reference === retractedRef))).toBe(true);
    const old = flags().find((f) => f.id === before!.id);
    expect(old?.status).toBe('inactive');
    expect(Date.parse(old!.period!.end!)).toBeGreaterThanOrEqual(Date.parse(old!.period!.start!));
    // What assess gives for the data now: iUPD at the first scan, possible pseudoprogression.
    expect(
      flags()
        .filter((f) => f.status === 'active')
        .map((f) => f.code?.coding?.[0]?.code),
    ).toEqual(['possible-pseudoprogression']);
    expectAgreesWithAssess(bench, P, { flags: true });
    expectAllValid(bench, P);
    // Nothing more the next time.
    expect(await bench.assess(P)).toMatchObject({ written: 0, retracted: 0 });
  });

  it('retracts the timepoint that drops out when the baseline moves', async () => {
    const tc = await start();
    await reload(retractScan(tc, 0));
    await bench.assess(P);
    // The first follow-up is the baseline now: its timepoint outputs no longer exist.
    expect(reportOf(FIRST).map((r) => r.status)).toEqual(['entered-in-error']);
    expect(timepointOf(FIRST).map((r) => r.status)).toEqual(['entered-in-error']);
    expect(reportOf(LATEST).map((r) => r.status)).not.toContain('entered-in-error');
    expectAgreesWithAssess(bench, P, { flags: true });
  });

  it("leaves a retracted timepoint's report alone when a clinician changed it", async () => {
    const tc = await start();
    const [report] = reportOf(LATEST);
    const amended = { ...report!, status: 'amended' as const, conclusion: 'Reviewed.' };
    expect(await clinician(`DiagnosticReport/${report!.id}`, { method: 'PUT', body: amended })).toBe(200);
    await reload(retractScan(tc, 2));
    await bench.assess(P);
    expect(reportOf(LATEST).map((r) => r.status)).toEqual(['amended']);
    expect(timepointOf(LATEST).map((r) => r.status)).toEqual(['entered-in-error']);
  });

  it("on epic: the scan's timepoint Observation, CancerDiseaseStatus and DocumentReference set entered-in-error", async () => {
    const tc = await start('epic');
    const ofLatest = () =>
      [
        ...adapterResources<Observation>(bench, 'Observation', P),
        ...adapterResources<Resource>(bench, 'DocumentReference', P),
      ]
        .filter((r) => keyOf(r).endsWith(`/${LATEST}`))
        .map((r) => `${r.resourceType} ${keyOf(r).split('/')[1]} ${(r as { status?: string }).status}`)
        .sort();
    expect(ofLatest()).toEqual([
      'DocumentReference report-document current',
      'Observation disease-status final',
      'Observation timepoint-response final',
    ]);
    await reload(retractScan(tc, 2));
    expect(await bench.assess(P)).toMatchObject({ retracted: 3 });
    expect(ofLatest()).toEqual([
      'DocumentReference report-document entered-in-error',
      'Observation disease-status entered-in-error',
      'Observation timepoint-response entered-in-error',
    ]);
    expectAgreesWithAssess(bench, P, { flags: false });
    expectAllValid(bench, P);
    expect(await bench.assess(P)).toMatchObject({ written: 0, retracted: 0 });
  });
});
