import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { FhirResult, Json, SandboxHarness } from './harness.ts';
import { startSandbox } from './harness.ts';

let h: SandboxHarness;
let patientId: string;
let otherPatientId: string;
let studyId: string;
let beforeSecondBatch: string;

function sizeObservation(subject: string, study?: string, code = '21889-1') {
  return {
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code }] },
    subject: { reference: `Patient/${subject}` },
    ...(study ? { derivedFrom: [{ reference: `ImagingStudy/${study}` }] } : {}),
  };
}

beforeAll(async () => {
  h = await startSandbox();
  patientId = (await h.fhir('POST', 'Patient', { resourceType: 'Patient', name: [{ family: 'Search' }] })).body.id;
  otherPatientId = (await h.fhir('POST', 'Patient', { resourceType: 'Patient', name: [{ family: 'Other' }] })).body.id;
  studyId = (
    await h.fhir('POST', 'ImagingStudy', {
      resourceType: 'ImagingStudy',
      status: 'available',
      subject: { reference: `Patient/${patientId}` },
      started: '2026-02-01T09:00:00Z',
    })
  ).body.id;
  // The sandbox stamps lastUpdated from the clock: a faked clock puts the second batch a minute after the first.
  vi.useFakeTimers({ toFake: ['Date'] });
  try {
    vi.setSystemTime(new Date(Date.now() + 60_000));
    for (let i = 0; i < 5; i++) await h.fhir('POST', 'Observation', sizeObservation(patientId, studyId));
    await h.fhir('POST', 'Observation', sizeObservation(patientId, undefined, '89247-1'));
    await h.fhir('POST', 'Observation', sizeObservation(otherPatientId));
    vi.setSystemTime(new Date(Date.now() + 30_000));
    beforeSecondBatch = new Date().toISOString();
    vi.setSystemTime(new Date(Date.now() + 30_000));
    for (let i = 0; i < 2; i++) await h.fhir('POST', 'Observation', sizeObservation(patientId));
  } finally {
    vi.useRealTimers();
  }
});
afterAll(async () => {
  await h.close();
});

describe('sandbox search', () => {
  it('filters by token and reference', async () => {
    const res = await h.fhir('GET', `Observation?subject=Patient/${patientId}&code=http://loinc.org|21889-1`);
    expect(res.status).toBe(200);
    expect(res.body.type).toBe('searchset');
    expect(res.body.total).toBe(7);
    expect(res.body.entry[0].fullUrl).toBe(`${h.baseUrl}/Observation/${res.body.entry[0].resource.id}`);
    const ecog = await h.fhir('GET', `Observation?patient=${patientId}&code=89247-1`);
    expect(ecog.body.total).toBe(1);
  });

  it('filters by _lastUpdated', async () => {
    const res = await h.fhir('GET', `Observation?_lastUpdated=gt${beforeSecondBatch}`);
    expect(res.body.total).toBe(2);
    const older = await h.fhir('GET', `Observation?_lastUpdated=le${beforeSecondBatch}`);
    expect(older.body.total).toBe(7);
  });

  it('pages with _count and next/previous links until done', async () => {
    const seen: string[] = [];
    let url: string | undefined = `Observation?subject=Patient/${patientId}&_count=3&_sort=_lastUpdated`;
    let pages = 0;
    while (url) {
      const page: FhirResult = await h.fhir('GET', url);
      expect(page.body.total).toBe(8);
      seen.push(...page.body.entry.map((e: Json) => e.resource.id));
      if (pages > 0) expect(page.body.link.some((l: Json) => l.relation === 'previous')).toBe(true);
      url = page.body.link.find((l: Json) => l.relation === 'next')?.url;
      pages++;
    }
    expect(pages).toBe(3);
    expect(new Set(seen).size).toBe(8);
  });

  it('defaults to 20 per page and caps _count at 1000', async () => {
    const res = await h.fhir('GET', 'Observation?_count=5000');
    expect(res.body.link[0].url).toContain('_count=1000');
    const def = await h.fhir('GET', 'Observation');
    expect(def.body.link[0].url).toContain('_count=20');
  });

  it('includes referenced resources with _include', async () => {
    const res = await h.fhir(
      'GET',
      `Observation?subject=Patient/${patientId}&code=http://loinc.org|21889-1&_include=Observation:derived-from&_include=Observation:subject`,
    );
    const types = res.body.entry.map((e: Json) => `${e.resource.resourceType}:${e.search.mode}`);
    expect(types.filter((t: string) => t === 'Observation:match')).toHaveLength(7);
    expect(types).toContain('ImagingStudy:include');
    expect(types).toContain('Patient:include');
    expect(res.body.total).toBe(7);
  });

  it('supports POST _search with a form body', async () => {
    const response = await fetch(`${h.baseUrl}/Observation/_search`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ subject: `Patient/${otherPatientId}` }).toString(),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as Json;
    expect(body.total).toBe(1);
  });

  it('answers _summary=count with a total only', async () => {
    const res = await h.fhir('GET', `Observation?subject=Patient/${patientId}&_summary=count`);
    expect(res.body.total).toBe(8);
    expect(res.body.entry).toBeUndefined();
  });

  it('rejects unknown search parameters with 400', async () => {
    const res = await h.fhir('GET', 'Observation?colour=blue');
    expect(res.status).toBe(400);
    expect(res.body.issue[0].details.text).toBe('Unknown search parameter: colour');
  });
});

describe('indexed search stays exact', () => {
  it('follows updates, deletes and rolled-back transactions', async () => {
    const mrn = (value: string) => ({ system: 'http://example.org/MRN', value });
    const a = (await h.fhir('POST', 'Patient', { resourceType: 'Patient', identifier: [mrn('IDX-A')] })).body;
    const obs = (await h.fhir('POST', 'Observation', sizeObservation(a.id))).body;
    expect((await h.fhir('GET', `Observation?patient=${a.id}`)).body.total).toBe(1);
    expect((await h.fhir('GET', `Observation?subject=Patient/${a.id}`)).body.total).toBe(1);
    // identifier: system is case-insensitive as in @medplum/core, value alone or |value
    expect((await h.fhir('GET', 'Patient?identifier=http://example.org/mrn|idx-a')).body.total).toBe(1);
    expect((await h.fhir('GET', 'Patient?identifier=IDX-A')).body.total).toBe(1);
    expect((await h.fhir('GET', 'Patient?identifier=http://other|IDX-A')).body.total).toBe(0);

    await h.fhir('PUT', `Observation/${obs.id}`, { ...sizeObservation(otherPatientId), id: obs.id });
    expect((await h.fhir('GET', `Observation?subject=Patient/${a.id}`)).body.total).toBe(0);
    expect((await h.fhir('GET', `Observation?_id=${obs.id}&subject=Patient/${otherPatientId}`)).body.total).toBe(1);

    const failed = await h.fhir('POST', '', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          resource: { ...sizeObservation(a.id), id: obs.id },
          request: { method: 'PUT', url: `Observation/${obs.id}` },
        },
        { request: { method: 'GET', url: 'Patient/missing' } },
      ],
    });
    expect(failed.status).toBe(404);
    expect((await h.fhir('GET', `Observation?subject=Patient/${a.id}`)).body.total).toBe(0);
    expect((await h.fhir('GET', `Observation?subject=Patient/${otherPatientId}&_id=${obs.id}`)).body.total).toBe(1);

    await h.fhir('DELETE', `Patient/${a.id}`);
    expect((await h.fhir('GET', 'Patient?identifier=IDX-A')).body.total).toBe(0);
  });

  it('finds by _tag through the index, as exactly as a scan', async () => {
    const tagged = (code: string) => ({
      resourceType: 'Provenance',
      meta: { tag: [{ system: 'http://example.org/Digest', code }] },
      target: [{ reference: `Patient/${patientId}` }],
      recorded: '2026-02-01T09:00:00Z',
      agent: [{ who: { display: 'search test' } }],
    });
    const first = (await h.fhir('POST', 'Provenance', tagged('Tag-One'))).body;
    await h.fhir('POST', 'Provenance', tagged('tag-two'));
    const total = async (query: string) => (await h.fhir('GET', `Provenance?${query}`)).body.total;
    expect(await total('_tag=http://example.org/Digest|Tag-One')).toBe(1);
    expect(await total('_tag=Tag-One')).toBe(1);
    expect(await total('_tag=Tag-One,tag-two')).toBe(2);
    expect(await total('_tag=http://other|Tag-One')).toBe(0);
    // `system|` names every code of a system: not narrowed, still answered
    expect(await total('_tag=http://example.org/Digest|')).toBe(2);

    await h.fhir('PUT', `Provenance/${first.id}`, { ...tagged('tag-three'), id: first.id });
    expect(await total('_tag=Tag-One')).toBe(0);
    expect(await total('_tag=tag-three')).toBe(1);
    // a conditional create on `_tag` finds the one that is there and creates nothing
    const again = await h.fhir('POST', 'Provenance', tagged('tag-two'), { 'If-None-Exist': '_tag=tag-two' });
    expect(again.status).toBe(200);
    expect(await total('_tag=tag-two')).toBe(1);
  });

  it('sorts by several keys and descending', async () => {
    const res = await h.fhir('GET', `Observation?subject=Patient/${patientId}&_sort=-_lastUpdated&_count=100`);
    const stamps = res.body.entry.map((e: Json) => e.resource.meta.lastUpdated);
    expect(stamps).toEqual([...stamps].sort().reverse());
  });
});
