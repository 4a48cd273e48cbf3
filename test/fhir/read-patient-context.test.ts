import type { Bundle, Resource } from '@medplum/fhirtypes';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFhirClient } from '../../src/fhir/client-factory.ts';
import { FhirRequestError, isRetryable } from '../../src/fhir/http-error.ts';
import {
  contextRequestUrls,
  isPatientNotFound,
  PatientNotFoundError,
  readPatientContext,
} from '../../src/fhir/read-patient-context.ts';
import { batchResponse, type Loopback, type RecordedRequest, type Reply, startLoopback } from './loopback.ts';

const patient: Resource = { resourceType: 'Patient', id: 'p1' };
const obs = (id: string, versionId = '1'): Resource => ({
  resourceType: 'Observation',
  id,
  meta: { versionId },
  status: 'final',
  code: { text: 'x' },
});
const medication: Resource = { resourceType: 'Medication', id: 'm1' };
const ma = (id: string): Resource => ({
  resourceType: 'MedicationAdministration',
  id,
  status: 'completed',
  subject: { reference: 'Patient/p1' },
  medicationReference: { reference: 'Medication/m1' },
  effectiveDateTime: '2024-01-01',
});
const flag: Resource = {
  resourceType: 'Flag',
  id: 'f1',
  status: 'inactive',
  code: { text: 'x' },
  subject: { reference: 'Patient/p1' },
};

function searchset(resources: Resource[], next?: string, includes: Resource[] = []): Bundle {
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    link: next ? [{ relation: 'next', url: next }] : [],
    entry: [
      ...resources.map((resource) => ({ resource, search: { mode: 'match' as const } })),
      ...includes.map((resource) => ({ resource, search: { mode: 'include' as const } })),
    ],
  };
}

/** A fake FHIR server answering the context read, by request path (batch entries and plain GETs alike). */
function fakeFhir(server: () => Loopback, overrides: Record<string, Reply> = {}) {
  const answer = (path: string, query: URLSearchParams): Reply => {
    const key = `${path}${query.get('page') ? `?page=${query.get('page')}` : ''}`;
    if (overrides[key]) return overrides[key];
    const base = server().url;
    switch (key) {
      case 'Patient/p1':
        return { json: patient };
      case 'Observation':
        return { json: searchset([obs('o1'), obs('o2', '1')], `${base}/fhir/Observation?page=2`) };
      case 'Observation?page=2':
        return { json: searchset([obs('o2', '2'), obs('o3')], `${base}/fhir/Observation?page=3`) };
      case 'Observation?page=3':
        return { json: searchset([obs('o4')]) };
      case 'MedicationAdministration':
        return { json: searchset([ma('a1'), ma('a2')], undefined, [medication, medication]) };
      case 'Flag':
        return { json: searchset([flag]) };
      default:
        return { json: searchset([]) };
    }
  };
  return (req: RecordedRequest): Reply => {
    if (req.method === 'POST' && req.path === '/fhir') {
      return overrides.batch ?? { json: batchResponse(req.body, answer) };
    }
    return answer(req.path.replace(/^\/fhir\//, ''), req.query);
  };
}

let server: Loopback;
beforeEach(async () => {
  server = await startLoopback();
  server.handle(fakeFhir(() => server));
});
afterEach(() => server.close());

const client = () =>
  createFhirClient({ port: 0, fhir: { baseUrl: `${server.url}/fhir`, timeoutMs: 5000, auth: { mode: 'none' } } });
const keys = (resources: Resource[]) => resources.map((r) => `${r.resourceType}/${r.id}`);

describe('readPatientContext', () => {
  it('reads the whole context in one batch request, following next links, deduplicated', async () => {
    const resources = await readPatientContext(client(), 'p1', { batch: true });
    expect(server.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      'POST /fhir',
      'GET /fhir/Observation?page=2',
      'GET /fhir/Observation?page=3',
    ]);
    const batch = JSON.parse(server.requests[0]?.body ?? '{}') as Bundle;
    expect(batch.type).toBe('batch');
    expect(batch.entry?.map((e) => `${e.request?.method} ${e.request?.url}`)).toEqual([
      'GET Patient/p1',
      'GET Observation?subject=Patient/p1&_count=1000',
      'GET ImagingStudy?subject=Patient/p1&_count=1000',
      'GET MedicationAdministration?subject=Patient/p1&_include=MedicationAdministration:medication&_count=1000',
      'GET BodyStructure?patient=Patient/p1&_count=1000',
      'GET Flag?subject=Patient/p1&_count=1000',
    ]);
    expect(keys(resources)).toEqual([
      'Patient/p1',
      'Observation/o1',
      'Observation/o2',
      'Observation/o3',
      'Observation/o4',
      'MedicationAdministration/a1',
      'MedicationAdministration/a2',
      'Medication/m1',
      'Flag/f1',
    ]);
    // The newer version of a resource seen twice wins.
    expect(resources.find((r) => r.id === 'o2')?.meta?.versionId).toBe('2');
  });

  it('accepts a Patient/ reference as the id', async () => {
    const resources = await readPatientContext(client(), 'Patient/p1', { batch: true });
    expect(resources[0]).toEqual(patient);
  });

  it('reads one request at a time when the server has no batch', async () => {
    const resources = await readPatientContext(client(), 'p1', { batch: false });
    expect(server.requests.every((r) => r.method === 'GET')).toBe(true);
    expect(server.requests.map((r) => r.url).sort()).toEqual(
      [
        ...contextRequestUrls('p1').map((u) => `/fhir/${u}`),
        '/fhir/Observation?page=2',
        '/fhir/Observation?page=3',
      ].sort(),
    );
    expect(keys(resources)).toHaveLength(9);
    expect(resources[0]).toEqual(patient);
  });

  it('falls back to single requests when the server refuses the batch', async () => {
    server.handle(fakeFhir(() => server, { batch: { status: 405, text: 'Method Not Allowed' } }));
    const resources = await readPatientContext(client(), 'p1', { batch: true });
    expect(server.requests[0]?.method).toBe('POST');
    expect(server.requests.filter((r) => r.method === 'GET')).toHaveLength(8);
    expect(keys(resources)).toHaveLength(9);
  });

  it.each([true, false])('throws PatientNotFoundError for a missing Patient (batch: %s)', async (batch) => {
    server.handle(
      fakeFhir(() => server, { 'Patient/p1': { status: 404, json: { resourceType: 'OperationOutcome', issue: [] } } }),
    );
    const err = await readPatientContext(client(), 'p1', { batch }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PatientNotFoundError);
    expect(isPatientNotFound(err)).toBe(true);
    expect((err as PatientNotFoundError).patientId).toBe('p1');
    expect(isRetryable(err)).toBe(false);
  });

  it('skips an unsupported BodyStructure or Flag search but fails on a required one', async () => {
    server.handle(fakeFhir(() => server, { BodyStructure: { status: 400 } }));
    await expect(readPatientContext(client(), 'p1', { batch: true })).resolves.toHaveLength(9);
    server.handle(fakeFhir(() => server, { Flag: { status: 404 } }));
    await expect(readPatientContext(client(), 'p1', { batch: true })).resolves.not.toHaveLength(0);
    server.handle(fakeFhir(() => server, { ImagingStudy: { status: 403 } }));
    const err = await readPatientContext(client(), 'p1', { batch: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FhirRequestError);
    expect((err as FhirRequestError).status).toBe(403);
    expect(isRetryable(err)).toBe(false);
  });

  it('makes a failing search entry retryable when the server erred', async () => {
    server.handle(fakeFhir(() => server, { Observation: { status: 503 } }));
    const err = await readPatientContext(client(), 'p1', { batch: true }).catch((e: unknown) => e);
    expect(isRetryable(err)).toBe(true);
  });

  it('rejects an unusable Patient id without a request', async () => {
    await expect(readPatientContext(client(), 'p1&_id=x', { batch: true })).rejects.toMatchObject({ status: 400 });
    expect(server.requests).toHaveLength(0);
  });
});
