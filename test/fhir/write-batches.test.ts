/**
 * Batches in reference order, for a server that lists batch but not transaction (write-batches.ts): over loopback
 * HTTP, each batch holds only entries whose references are resolved, later batches carry the ids the server assigned.
 */
import type { Bundle, BundleEntry } from '@medplum/fhirtypes';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFhirClient } from '../../src/fhir/client-factory.ts';
import { writeResults } from '../../src/fhir/write-results.ts';
import { type Loopback, startLoopback } from './loopback.ts';

const OBS = 'urn:uuid:0b5e7c2a-0000-4000-8000-000000000001';
const DR = 'urn:uuid:0b5e7c2a-0000-4000-8000-000000000002';

const entries: BundleEntry[] = [
  {
    fullUrl: OBS,
    resource: { resourceType: 'Observation', status: 'final', code: { text: 'x' } },
    request: { method: 'POST', url: 'Observation' },
  },
  {
    fullUrl: DR,
    resource: { resourceType: 'DiagnosticReport', status: 'final', code: { text: 'r' }, result: [{ reference: OBS }] },
    request: { method: 'POST', url: 'DiagnosticReport' },
  },
  {
    resource: { resourceType: 'Flag', status: 'active', code: { text: 'f' }, subject: { reference: 'Patient/p' } },
    request: { method: 'PUT', url: 'Flag/f1', ifMatch: 'W/"2"' },
  },
  {
    resource: {
      resourceType: 'Provenance',
      recorded: '2026-01-01T00:00:00Z',
      agent: [{ who: { display: 'adapter' } }],
      target: [{ reference: DR }, { reference: OBS }],
    },
    request: { method: 'POST', url: 'Provenance' },
  },
];

describe('writeResults in batches', () => {
  let server: Loopback;
  let next = 0;
  beforeEach(async () => {
    next = 0;
    server = await startLoopback((req) => {
      const bundle = JSON.parse(req.body) as Bundle;
      return {
        json: {
          resourceType: 'Bundle',
          type: 'batch-response',
          entry: (bundle.entry ?? []).map((e) => {
            const type = e.resource?.resourceType;
            next++;
            return { response: { status: '201 Created', location: `${type}/id${next}/_history/1` } };
          }),
        },
      };
    });
  });
  afterEach(() => server.close());

  it('sends each layer once its references are known, never a transaction', async () => {
    const client = createFhirClient({
      port: 0,
      fhir: { baseUrl: `${server.url}/fhir`, timeoutMs: 5000, auth: { mode: 'none' } },
    });
    const result = await writeResults(
      client,
      { resourceType: 'Bundle', type: 'transaction', entry: entries },
      { transaction: false, batch: true, software: 'other' },
    );
    expect(result).toEqual({ written: 4, unchanged: 0 });
    const sent = server.requests.map((r) => JSON.parse(r.body) as Bundle);
    expect(sent.map((b) => b.type)).toEqual(['batch', 'batch', 'batch']);
    expect(sent.map((b) => (b.entry ?? []).map((e) => e.resource?.resourceType))).toEqual([
      ['Observation', 'Flag'],
      ['DiagnosticReport'],
      ['Provenance'],
    ]);
    const report = sent[1]?.entry?.[0]?.resource as { result?: { reference?: string }[] };
    expect(report.result?.[0]?.reference).toBe('Observation/id1');
    const provenance = sent[2]?.entry?.[0]?.resource as { target?: { reference?: string }[] };
    expect(provenance.target?.map((t) => t.reference)).toEqual(['DiagnosticReport/id3', 'Observation/id1']);
    expect(sent[0]?.entry?.[1]?.request?.ifMatch).toBe('W/"2"');
  });

  it('stops at a refused entry', async () => {
    server.handle(() => ({
      json: {
        resourceType: 'Bundle',
        type: 'batch-response',
        entry: [{ response: { status: '201' } }, { response: { status: '403' } }],
      },
    }));
    const client = createFhirClient({
      port: 0,
      fhir: { baseUrl: `${server.url}/fhir`, timeoutMs: 5000, auth: { mode: 'none' } },
    });
    await expect(
      writeResults(
        client,
        { resourceType: 'Bundle', type: 'transaction', entry: entries },
        { transaction: false, batch: true },
      ),
    ).rejects.toMatchObject({ status: 403 });
    expect(server.requests).toHaveLength(1);
  });
});
