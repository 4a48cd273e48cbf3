import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Json, SandboxHarness } from './harness.ts';
import { startSandbox } from './harness.ts';

let h: SandboxHarness;
beforeAll(async () => {
  h = await startSandbox();
});
afterAll(async () => {
  await h.close();
});

const BASE = 'https://irecist-adapter.dev/fhir';
const P = 'urn:uuid:0a4b1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d';
const S = 'urn:uuid:1b5c2d3e-4f5a-4b6c-9d7e-8f9a0b1c2d3e';

function transaction(entry: unknown[]) {
  return { resourceType: 'Bundle', type: 'transaction', entry };
}

async function count(query: string): Promise<number> {
  return (await h.fhir('GET', `${query}${query.includes('?') ? '&' : '?'}_summary=count`)).body.total;
}

function adapterWrites(key: string, conclusion: string) {
  const identifier = (kind: string) => ({ system: `${BASE}/${kind}`, value: `${key}-${kind}` });
  const url = (type: string, kind: string) =>
    `${type}?identifier=${encodeURIComponent(`${BASE}/${kind}|${key}-${kind}`)}`;
  const obsUrl = `urn:uuid:2c6d3e4f-5a6b-4c7d-8e8f-9a0b1c2d3e4${key.length % 10}`;
  return transaction([
    {
      fullUrl: obsUrl,
      resource: {
        resourceType: 'Observation',
        identifier: [identifier('timepoint')],
        status: 'final',
        code: { text: 'timepoint response' },
        valueCodeableConcept: { coding: [{ system: `${BASE}/CodeSystem/irecist`, code: 'iSD' }] },
      },
      request: { method: 'PUT', url: url('Observation', 'timepoint') },
    },
    {
      resource: {
        resourceType: 'DiagnosticReport',
        identifier: [identifier('report')],
        status: 'final',
        code: { text: 'iRECIST' },
        result: [{ reference: obsUrl }],
        conclusion,
      },
      request: { method: 'PUT', url: url('DiagnosticReport', 'report') },
    },
  ]);
}

describe('transaction', () => {
  it('resolves urn:uuid references between entries', async () => {
    const res = await h.fhir(
      'POST',
      '',
      transaction([
        {
          fullUrl: P,
          resource: { resourceType: 'Patient', name: [{ family: 'Tx' }] },
          request: { method: 'POST', url: 'Patient' },
        },
        {
          fullUrl: S,
          resource: { resourceType: 'ImagingStudy', status: 'available', subject: { reference: P } },
          request: { method: 'POST', url: 'ImagingStudy' },
        },
        {
          resource: {
            resourceType: 'Observation',
            status: 'final',
            code: { text: 'size' },
            subject: { reference: P },
            derivedFrom: [{ reference: S }],
          },
          request: { method: 'POST', url: 'Observation' },
        },
      ]),
    );
    expect(res.status).toBe(200);
    expect(res.body.type).toBe('transaction-response');
    const [patient, study, obs] = res.body.entry;
    expect(patient.response.status).toBe('201');
    expect(patient.fullUrl).toBe(`${h.baseUrl}/Patient/${patient.resource.id}`);
    expect(patient.response.location).toBe(
      `Patient/${patient.resource.id}/_history/${patient.resource.meta.versionId}`,
    );
    expect(patient.response.etag).toBe(`W/"${patient.resource.meta.versionId}"`);
    expect(study.resource.subject.reference).toBe(`Patient/${patient.resource.id}`);
    const stored = await h.fhir('GET', `Observation/${obs.resource.id}`);
    expect(stored.body.subject.reference).toBe(`Patient/${patient.resource.id}`);
    expect(stored.body.derivedFrom[0].reference).toBe(`ImagingStudy/${study.resource.id}`);
  });

  it('is all-or-nothing: a failing entry stores nothing and answers its status', async () => {
    const before = await count('Patient?family=Atomic');
    const res = await h.fhir(
      'POST',
      '',
      transaction([
        {
          resource: { resourceType: 'Patient', name: [{ family: 'Atomic' }] },
          request: { method: 'POST', url: 'Patient' },
        },
        {
          resource: { resourceType: 'Observation', status: 'final', code: { text: 'x' }, colour: 'blue' },
          request: { method: 'POST', url: 'Observation' },
        },
      ]),
    );
    expect(res.status).toBe(400);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(await count('Patient?family=Atomic')).toBe(before);
  });

  it('rolls back updates and deletes too, restoring the previous versions', async () => {
    const kept = (await h.fhir('POST', 'Patient', { resourceType: 'Patient', name: [{ family: 'Keep' }] })).body;
    const doomed = (await h.fhir('POST', 'Patient', { resourceType: 'Patient', name: [{ family: 'Doomed' }] })).body;
    const res = await h.fhir(
      'POST',
      '',
      transaction([
        {
          resource: { ...kept, name: [{ family: 'Changed' }] },
          request: { method: 'PUT', url: `Patient/${kept.id}` },
        },
        { request: { method: 'DELETE', url: `Patient/${doomed.id}` } },
        {
          resource: { ...kept, active: true },
          request: { method: 'PUT', url: `Patient/${kept.id}`, ifMatch: 'W/"stale"' },
        },
      ]),
    );
    expect(res.status).toBe(412);
    const now = await h.fhir('GET', `Patient/${kept.id}`);
    expect(now.body).toEqual(kept);
    expect((await h.fhir('GET', `Patient/${kept.id}/_history`)).body.total).toBe(1);
    expect((await h.fhir('GET', `Patient/${doomed.id}`)).status).toBe(200);
  });

  it('honours conditional entries: the same transaction twice creates one version of each', async () => {
    const first = await h.fhir('POST', '', adapterWrites('idem', 'Stable disease.'));
    expect(first.status).toBe(200);
    expect(first.body.entry.map((e: Json) => e.response.status)).toEqual(['201', '201']);
    const [obs, report] = first.body.entry.map((e: Json) => e.resource);
    expect(report.result[0].reference).toBe(`Observation/${obs.id}`);

    const second = await h.fhir('POST', '', adapterWrites('idem', 'Stable disease.'));
    expect(second.body.entry.map((e: Json) => e.response.status)).toEqual(['200', '200']);
    expect(second.body.entry.map((e: Json) => e.response.outcome.issue[0].details.text)).toEqual([
      'Unchanged',
      'Unchanged',
    ]);
    expect(second.body.entry[1].resource.meta.versionId).toBe(report.meta.versionId);
    expect((await h.fhir('GET', `DiagnosticReport/${report.id}/_history`)).body.total).toBe(1);
    expect((await h.fhir('GET', `Observation/${obs.id}/_history`)).body.total).toBe(1);

    const third = await h.fhir('POST', '', adapterWrites('idem', 'Partial response.'));
    expect(third.body.entry.map((e: Json) => e.response.status)).toEqual(['200', '200']);
    expect(third.body.entry[1].response.outcome.issue[0].details.text).not.toBe('Unchanged');
    expect((await h.fhir('GET', `DiagnosticReport/${report.id}/_history`)).body.total).toBe(2);
  });

  it('honours ifNoneExist and points urn:uuid references at the existing resource', async () => {
    const mrn = { system: 'http://example.org/mrn', value: 'tx-ine' };
    const bundle = () =>
      transaction([
        {
          fullUrl: P,
          resource: { resourceType: 'Patient', identifier: [mrn] },
          request: { method: 'POST', url: 'Patient', ifNoneExist: `identifier=${mrn.system}|${mrn.value}` },
        },
        {
          resource: { resourceType: 'ImagingStudy', status: 'available', subject: { reference: P } },
          request: { method: 'POST', url: 'ImagingStudy' },
        },
      ]);
    const first = await h.fhir('POST', '', bundle());
    const second = await h.fhir('POST', '', bundle());
    expect(second.status).toBe(200);
    expect(second.body.entry[0].response.status).toBe('200');
    const patientId = first.body.entry[0].resource.id;
    expect(second.body.entry[0].resource.id).toBe(patientId);
    expect(second.body.entry[1].resource.subject.reference).toBe(`Patient/${patientId}`);
    expect(await count(`Patient?identifier=${mrn.system}|${mrn.value}`)).toBe(1);
  });

  it('accepts more than 8 conditional entries and more than 50 updates (Medplum server limits)', async () => {
    const entry = Array.from({ length: 60 }, (_, i) => ({
      resource: {
        resourceType: 'Flag',
        identifier: [{ system: `${BASE}/flag`, value: `bulk-${i}` }],
        status: 'active',
        code: { text: 'flag' },
        subject: { reference: 'Patient/whoever' },
      },
      request: { method: 'PUT', url: `Flag?identifier=${encodeURIComponent(`${BASE}/flag|bulk-${i}`)}` },
    }));
    const res = await h.fhir('POST', '', transaction(entry));
    expect(res.status).toBe(200);
    expect(await count(`Flag?identifier=${BASE}/flag|`)).toBe(60);
  });
});

describe('batch', () => {
  it('keeps the entries that succeed and reports each failure', async () => {
    const res = await h.fhir('POST', '', {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        {
          resource: { resourceType: 'Patient', name: [{ family: 'BatchOk' }] },
          request: { method: 'POST', url: 'Patient' },
        },
        { request: { method: 'GET', url: 'Patient/nope' } },
        { request: { method: 'GET', url: 'Patient?family=BatchOk' } },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body.type).toBe('batch-response');
    const statuses = res.body.entry.map((e: Json) => e.response.status);
    expect(statuses[0]).toBe('201');
    expect(statuses[1]).toBe('404');
    expect(await count('Patient?family=BatchOk')).toBe(1);
  });

  it('rejects other Bundle types with 400', async () => {
    const res = await h.fhir('POST', '', { resourceType: 'Bundle', type: 'collection', entry: [] });
    expect(res.status).toBe(400);
    expect(res.body.issue[0].expression).toEqual(['Bundle.type']);
  });
});
