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

const patient = { resourceType: 'Patient', name: [{ family: 'Crud', given: ['Test'] }], gender: 'female' };

describe('sandbox CRUD', () => {
  it('creates with a server-assigned id and answers 201 with Location, ETag and FHIR JSON', async () => {
    const res = await h.fhir('POST', 'Patient', { ...patient, id: 'client-chosen' });
    expect(res.status).toBe(201);
    expect(res.headers.get('content-type')).toBe('application/fhir+json; charset=utf-8');
    const { id, meta } = res.body;
    expect(id).not.toBe('client-chosen');
    expect(meta.versionId).toBeTruthy();
    expect(res.headers.get('etag')).toBe(`W/"${meta.versionId}"`);
    expect(res.headers.get('location')).toBe(`${h.baseUrl}/Patient/${id}/_history/${meta.versionId}`);
    expect(res.headers.get('last-modified')).toBe(new Date(meta.lastUpdated).toUTCString());
  });

  it('reads, updates, vreads and lists history newest first', async () => {
    const created = (await h.fhir('POST', 'Patient', patient)).body;
    const read = await h.fhir('GET', `Patient/${created.id}`);
    expect(read.status).toBe(200);
    expect(read.body).toEqual(created);

    const updated = await h.fhir('PUT', `Patient/${created.id}`, { ...created, active: true });
    expect(updated.status).toBe(200);
    expect(updated.body.active).toBe(true);
    expect(updated.body.meta.versionId).not.toBe(created.meta.versionId);
    expect(updated.body.meta.lastUpdated > created.meta.lastUpdated).toBe(true);

    const v1 = await h.fhir('GET', `Patient/${created.id}/_history/${created.meta.versionId}`);
    expect(v1.status).toBe(200);
    expect(v1.body.active).toBeUndefined();

    const history = await h.fhir('GET', `Patient/${created.id}/_history`);
    expect(history.body.type).toBe('history');
    expect(history.body.total).toBe(2);
    expect(history.body.entry.map((e: Json) => e.resource.meta.versionId)).toEqual([
      updated.body.meta.versionId,
      created.meta.versionId,
    ]);
    expect(history.body.entry.map((e: Json) => e.request.method)).toEqual(['PUT', 'POST']);
    // Reading history twice gives the same order (MemoryRepository reverses its stored array in place).
    const again = await h.fhir('GET', `Patient/${created.id}/_history`);
    expect(again.body.entry.map((e: Json) => e.resource.meta.versionId)).toEqual(
      history.body.entry.map((e: Json) => e.resource.meta.versionId),
    );
  });

  it('update of an unknown id creates it with that id (201)', async () => {
    const res = await h.fhir('PUT', 'Patient/crud-upsert-1', { ...patient, id: 'crud-upsert-1' });
    expect(res.status).toBe(201);
    expect(res.body.id).toBe('crud-upsert-1');
    expect(res.headers.get('location')).toContain('/Patient/crud-upsert-1/_history/');
  });

  it('writing identical content again keeps the version', async () => {
    const created = (await h.fhir('PUT', 'Patient/crud-same', { ...patient, id: 'crud-same' })).body;
    const { meta: _meta, ...content } = created;
    const again = await h.fhir('PUT', 'Patient/crud-same', content);
    expect(again.status).toBe(200);
    expect(again.body.meta.versionId).toBe(created.meta.versionId);
    expect(again.headers.get('etag')).toBe(`W/"${created.meta.versionId}"`);
    const outcome = await h.fhir('PUT', 'Patient/crud-same', content, { prefer: 'return=OperationOutcome' });
    expect(outcome.body.issue[0].details.text).toBe('Unchanged');
    const history = await h.fhir('GET', 'Patient/crud-same/_history');
    expect(history.body.total).toBe(1);
  });

  it('honours If-Match on update and delete (412 on a stale version)', async () => {
    const created = (await h.fhir('POST', 'Patient', patient)).body;
    const stale = `W/"${created.meta.versionId}"`;
    const ok = await h.fhir('PUT', `Patient/${created.id}`, { ...created, active: true }, { 'if-match': stale });
    expect(ok.status).toBe(200);
    const conflict = await h.fhir('PUT', `Patient/${created.id}`, { ...created, active: false }, { 'if-match': stale });
    expect(conflict.status).toBe(412);
    expect(conflict.body.resourceType).toBe('OperationOutcome');
    const del = await h.fhir('DELETE', `Patient/${created.id}`, undefined, { 'if-match': stale });
    expect(del.status).toBe(412);
    expect((await h.fhir('GET', `Patient/${created.id}`)).body.active).toBe(true);
  });

  it('deletes: 410 Gone afterwards, a second delete succeeds, history keeps the tombstone', async () => {
    const created = (await h.fhir('POST', 'Patient', patient)).body;
    const del = await h.fhir('DELETE', `Patient/${created.id}`);
    expect(del.status).toBe(200);
    expect(del.body.resourceType).toBe('OperationOutcome');
    const read = await h.fhir('GET', `Patient/${created.id}`);
    expect(read.status).toBe(410);
    expect(read.body.issue[0].code).toBe('deleted');
    expect((await h.fhir('DELETE', `Patient/${created.id}`)).status).toBe(200);
    const history = await h.fhir('GET', `Patient/${created.id}/_history`);
    expect(history.body.total).toBe(2);
    expect(history.body.entry[0].request.method).toBe('DELETE');
    expect(history.body.entry[0].resource).toBeUndefined();
    const search = await h.fhir('GET', `Patient?_id=${created.id}`);
    expect(search.body.total).toBe(0);
  });

  it('answers 404 OperationOutcomes for unknown ids and versions', async () => {
    const res = await h.fhir('GET', 'Patient/does-not-exist');
    expect(res.status).toBe(404);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect((await h.fhir('DELETE', 'Patient/does-not-exist')).status).toBe(404);
    const created = (await h.fhir('POST', 'Patient', patient)).body;
    expect((await h.fhir('GET', `Patient/${created.id}/_history/nope`)).status).toBe(404);
  });

  it('validates resources against the R4 definitions (400 with the path)', async () => {
    const res = await h.fhir('POST', 'Patient', { resourceType: 'Patient', gender: 'female', colour: 'blue' });
    expect(res.status).toBe(400);
    expect(res.body.issue[0].expression).toEqual(['Patient.colour']);
    const wrongType = await h.fhir('POST', 'Patient', { resourceType: 'Observation', status: 'final', code: {} });
    expect(wrongType.status).toBe(400);
    const badId = await h.fhir('PUT', 'Patient/bad_id!', { resourceType: 'Patient', id: 'bad_id!' });
    expect(badId.status).toBe(400);
  });

  it('rejects unknown resource types', async () => {
    expect((await h.fhir('GET', 'Unicorn/1')).status).toBe(400);
    expect((await h.fhir('POST', 'Unicorn', { resourceType: 'Unicorn' })).status).toBe(400);
  });

  it('accepts application/json, rejects other media types with 415 and bad JSON with 400', async () => {
    const json = await h.fhir('POST', 'Patient', patient, { 'content-type': 'application/json' });
    expect(json.status).toBe(201);
    const xml = await h.fhir('POST', 'Patient', '<Patient/>', { 'content-type': 'application/fhir+xml' });
    expect(xml.status).toBe(415);
    expect(xml.body.resourceType).toBe('OperationOutcome');
    const broken = await h.fhir('POST', 'Patient', '{"resourceType": "Patient", ', {
      'content-type': 'application/fhir+json',
    });
    expect(broken.status).toBe(400);
    expect(broken.body.issue[0].details.text).toBe('Malformed request body');
    const noBody = await h.fhir('POST', 'Patient');
    expect(noBody.status).toBe(400);
  });

  it('supports Prefer: return=minimal', async () => {
    const res = await h.fhir('POST', 'Patient', patient, { prefer: 'return=minimal' });
    expect(res.status).toBe(201);
    expect(res.body).toBeUndefined();
    expect(res.headers.get('location')).toContain('/Patient/');
  });

  it('patches with JSON Patch', async () => {
    const created = (await h.fhir('POST', 'Patient', patient)).body;
    const res = await h.fhir('PATCH', `Patient/${created.id}`, [{ op: 'add', path: '/active', value: true }], {
      'content-type': 'application/json-patch+json',
    });
    expect(res.status).toBe(200);
    expect(res.body.active).toBe(true);
    expect(res.body.meta.versionId).not.toBe(created.meta.versionId);
  });
});

describe('sandbox body limit', () => {
  it('answers 413 with an OperationOutcome above the limit', async () => {
    const small = await startSandbox({ bodyLimit: 1024 });
    try {
      const big = { ...patient, text: { status: 'generated', div: `<div>${'x'.repeat(4096)}</div>` } };
      const res = await small.fhir('POST', 'Patient', big);
      expect(res.status).toBe(413);
      expect(res.body.resourceType).toBe('OperationOutcome');
    } finally {
      await small.close();
    }
  });

  it('accepts large bundles under the default 50 MiB limit', async () => {
    const entry = Array.from({ length: 300 }, (_, i) => ({
      resource: { ...patient, text: { status: 'generated', div: `<div>${'y'.repeat(10_000)} ${i}</div>` } },
      request: { method: 'POST', url: 'Patient' },
    }));
    const res = await h.fhir('POST', '', { resourceType: 'Bundle', type: 'batch', entry });
    expect(res.status).toBe(200);
    expect(res.body.entry).toHaveLength(300);
  });
});
