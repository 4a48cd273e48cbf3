import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxHarness } from './harness.ts';
import { startSandbox } from './harness.ts';

let h: SandboxHarness;
beforeAll(async () => {
  h = await startSandbox();
});
afterAll(async () => {
  await h.close();
});

const BASE = 'https://irecist-adapter.dev/fhir';

function report(value: string, conclusion = 'Stable disease') {
  return {
    resourceType: 'DiagnosticReport',
    identifier: [{ system: `${BASE}/report`, value }],
    status: 'final',
    code: { text: 'iRECIST response assessment' },
    conclusion,
  };
}

describe('conditional create (If-None-Exist)', () => {
  it('creates once, then returns the existing resource with 200', async () => {
    const headers = { 'if-none-exist': 'identifier=http://example.org/mrn|cc-1' };
    const body = { resourceType: 'Patient', identifier: [{ system: 'http://example.org/mrn', value: 'cc-1' }] };
    const first = await h.fhir('POST', 'Patient', body, headers);
    expect(first.status).toBe(201);
    const second = await h.fhir('POST', 'Patient', body, headers);
    expect(second.status).toBe(200);
    expect(second.body.id).toBe(first.body.id);
    expect(second.body.meta.versionId).toBe(first.body.meta.versionId);
    const search = await h.fhir('GET', 'Patient?identifier=http://example.org/mrn|cc-1');
    expect(search.body.total).toBe(1);
  });

  it('answers 412 when the criteria match more than one resource', async () => {
    const body = { resourceType: 'Patient', identifier: [{ system: 'http://example.org/dup', value: 'd' }] };
    await h.fhir('POST', 'Patient', body);
    await h.fhir('POST', 'Patient', body);
    const res = await h.fhir('POST', 'Patient', body, { 'if-none-exist': 'identifier=http://example.org/dup|d' });
    expect(res.status).toBe(412);
  });
});

describe('conditional update (PUT Type?identifier=...)', () => {
  it('creates, then keeps one version for identical content, then versions a change', async () => {
    const url = `DiagnosticReport?identifier=${encodeURIComponent(`${BASE}/report|cu-1`)}`;
    const first = await h.fhir('PUT', url, report('cu-1'));
    expect(first.status).toBe(201);

    const same = await h.fhir('PUT', url, report('cu-1'));
    expect(same.status).toBe(200);
    expect(same.body.id).toBe(first.body.id);
    expect(same.body.meta.versionId).toBe(first.body.meta.versionId);
    expect((await h.fhir('GET', `DiagnosticReport/${first.body.id}/_history`)).body.total).toBe(1);

    const changed = await h.fhir('PUT', url, report('cu-1', 'Partial response'));
    expect(changed.status).toBe(200);
    expect(changed.body.meta.versionId).not.toBe(first.body.meta.versionId);
    expect((await h.fhir('GET', `DiagnosticReport/${first.body.id}/_history`)).body.total).toBe(2);
  });

  it('treats element order and server meta as irrelevant to "unchanged"', async () => {
    const url = `DiagnosticReport?identifier=${encodeURIComponent(`${BASE}/report|cu-2`)}`;
    const first = (await h.fhir('PUT', url, report('cu-2'))).body;
    const { conclusion, status, ...rest } = report('cu-2');
    const reordered = {
      conclusion,
      ...rest,
      status,
      meta: { versionId: 'stale', lastUpdated: '2000-01-01T00:00:00Z' },
    };
    const again = await h.fhir('PUT', url, reordered);
    expect(again.body.meta.versionId).toBe(first.meta.versionId);
  });

  it('answers 412 for several matches and 400 for an unknown search parameter', async () => {
    await h.fhir('POST', 'DiagnosticReport', report('cu-dup'));
    await h.fhir('POST', 'DiagnosticReport', report('cu-dup'));
    const url = `DiagnosticReport?identifier=${encodeURIComponent(`${BASE}/report|cu-dup`)}`;
    expect((await h.fhir('PUT', url, report('cu-dup'))).status).toBe(412);
    const unknown = await h.fhir('PUT', 'DiagnosticReport?colour=blue', report('cu-x'));
    expect(unknown.status).toBe(400);
    expect(unknown.body.issue[0].details.text).toBe('Unknown search parameter: colour');
  });

  it('concurrent conditional updates of one identifier never create duplicates', async () => {
    const url = `DiagnosticReport?identifier=${encodeURIComponent(`${BASE}/report|race`)}`;
    const results = await Promise.all(Array.from({ length: 25 }, () => h.fhir('PUT', url, report('race'))));
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
    expect(new Set(results.map((r) => r.body.meta.versionId)).size).toBe(1);
  });

  it('conditional delete removes the single match', async () => {
    const created = (await h.fhir('POST', 'DiagnosticReport', report('cd-1'))).body;
    const url = `DiagnosticReport?identifier=${encodeURIComponent(`${BASE}/report|cd-1`)}`;
    expect((await h.fhir('DELETE', url)).status).toBe(200);
    expect((await h.fhir('GET', `DiagnosticReport/${created.id}`)).status).toBe(410);
  });
});

describe('conditional references', () => {
  it('resolves Type?search references on write', async () => {
    const p = (
      await h.fhir('POST', 'Patient', {
        resourceType: 'Patient',
        identifier: [{ system: 'http://example.org/mrn', value: 'cref-1' }],
      })
    ).body;
    const obs = await h.fhir('POST', 'Observation', {
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'x' },
      subject: { reference: 'Patient?identifier=http://example.org/mrn|cref-1' },
    });
    expect(obs.status).toBe(201);
    expect(obs.body.subject.reference).toBe(`Patient/${p.id}`);
    const missing = await h.fhir('POST', 'Observation', {
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'x' },
      subject: { reference: 'Patient?identifier=http://example.org/mrn|nobody' },
    });
    expect(missing.status).toBe(400);
  });
});
