import type { Bundle } from '@medplum/fhirtypes';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFhirClient } from '../../src/fhir/client-factory.ts';
import {
  FhirRequestError,
  fitsOneTransaction,
  isRetryable,
  retryAfterMs,
  writeResults,
} from '../../src/fhir/write-results.ts';
import { type Loopback, type RecordedRequest, type Reply, startLoopback } from './loopback.ts';

const DR_URN = 'urn:uuid:7f0c6b1e-1111-4c2e-9d7e-000000000001';
const OBS_URN = 'urn:uuid:7f0c6b1e-1111-4c2e-9d7e-000000000002';
const ID = 'https://irecist-adapter.dev/fhir/identifier';

/** Observation, then a DiagnosticReport referring to it, a Flag update, and a Provenance targeting both. */
const transaction: Bundle = {
  resourceType: 'Bundle',
  type: 'transaction',
  entry: [
    {
      fullUrl: OBS_URN,
      resource: {
        resourceType: 'Observation',
        status: 'final',
        code: { text: 'response' },
        identifier: [{ system: ID, value: 'obs-1' }],
      },
      request: { method: 'POST', url: 'Observation', ifNoneExist: `identifier=${ID}|obs-1` },
    },
    {
      fullUrl: DR_URN,
      resource: {
        resourceType: 'DiagnosticReport',
        status: 'final',
        code: { text: 'report' },
        identifier: [{ system: ID, value: 'dr-1' }],
        result: [{ reference: OBS_URN }],
      },
      request: { method: 'PUT', url: `DiagnosticReport?identifier=${ID}|dr-1` },
    },
    {
      resource: {
        resourceType: 'Flag',
        id: 'f1',
        status: 'inactive',
        code: { text: 'x' },
        subject: { reference: 'Patient/p1' },
      },
      request: { method: 'PUT', url: 'Flag/f1', ifMatch: 'W/"3"' },
    },
    {
      resource: {
        resourceType: 'Provenance',
        recorded: '2024-01-01T00:00:00Z',
        agent: [{ who: { display: 'adapter' } }],
        target: [{ reference: DR_URN }, { reference: OBS_URN }],
      },
      request: { method: 'POST', url: 'Provenance', ifNoneExist: `target=${DR_URN}` },
    },
  ],
};

let server: Loopback;
beforeEach(async () => {
  server = await startLoopback();
});
afterEach(() => server.close());

const client = () =>
  createFhirClient({ port: 0, fhir: { baseUrl: `${server.url}/fhir`, timeoutMs: 5000, auth: { mode: 'none' } } });

describe('writeResults as one transaction', () => {
  it('POSTs the Bundle once and counts written and unchanged entries', async () => {
    server.handle(() => ({
      json: {
        resourceType: 'Bundle',
        type: 'transaction-response',
        entry: [
          { response: { status: '200 OK', location: 'Observation/o1/_history/1' } }, // conditional create matched
          { response: { status: '201 Created', location: 'DiagnosticReport/d1/_history/1' } },
          { response: { status: '200 OK', etag: 'W/"3"' } }, // If-Match W/"3", still version 3: unchanged
          { response: { status: '201 Created' } },
        ],
      },
    }));
    await expect(writeResults(client(), transaction, { transaction: true })).resolves.toEqual({
      written: 2,
      unchanged: 2,
    });
    expect(server.requests).toHaveLength(1);
    const req = server.requests[0] as RecordedRequest;
    expect(`${req.method} ${req.path}`).toBe('POST /fhir');
    expect(req.headers['content-type']).toContain('application/fhir+json');
    expect(JSON.parse(req.body)).toEqual(transaction);
  });

  it('counts 304 and HAPI no-change outcomes as unchanged', async () => {
    server.handle(() => ({
      json: {
        resourceType: 'Bundle',
        type: 'transaction-response',
        entry: [
          { response: { status: '201 Created' } },
          {
            response: {
              status: '200 OK',
              outcome: {
                resourceType: 'OperationOutcome',
                issue: [
                  {
                    severity: 'information',
                    code: 'informational',
                    details: {
                      coding: [
                        {
                          system: 'https://hapifhir.io/fhir/CodeSystem/hapi-fhir-storage-response-code',
                          code: 'SUCCESSFUL_UPDATE_NO_CHANGE',
                        },
                      ],
                    },
                  },
                ],
              },
            },
          },
          { response: { status: '304 Not Modified' } },
          { response: { status: '201 Created' } },
        ],
      },
    }));
    await expect(writeResults(client(), transaction, { transaction: true })).resolves.toEqual({
      written: 2,
      unchanged: 2,
    });
  });

  it('does nothing for an empty Bundle', async () => {
    await expect(
      writeResults(client(), { resourceType: 'Bundle', type: 'transaction' }, { transaction: true }),
    ).resolves.toEqual({
      written: 0,
      unchanged: 0,
    });
    expect(server.requests).toHaveLength(0);
  });

  it.each([
    [400, false],
    [404, false],
    [422, false],
    [409, true],
    [412, true],
    [429, true],
    [500, true],
    [503, true],
  ])('classifies HTTP %i as retryable=%s', async (status, retryable) => {
    server.handle(() => ({
      status,
      json: {
        resourceType: 'OperationOutcome',
        issue: [{ severity: 'error', code: 'processing', diagnostics: 'Patient Alice Smith' }],
      },
    }));
    const err = (await writeResults(client(), transaction, { transaction: true }).catch(
      (e: unknown) => e,
    )) as FhirRequestError;
    expect(err).toBeInstanceOf(FhirRequestError);
    expect(err.status).toBe(status);
    expect(err.retryable).toBe(retryable);
    expect(isRetryable(err)).toBe(retryable);
    // The server's diagnostics are kept aside, never in the error's own outcome or message.
    expect(JSON.stringify(err.outcome)).not.toContain('Alice');
    expect(err.serverOutcome?.issue?.[0]?.diagnostics).toBe('Patient Alice Smith');
  });

  it('exposes Retry-After (seconds or HTTP date)', async () => {
    server.handle(() => ({ status: 429, headers: { 'retry-after': '30' } }));
    let err = await writeResults(client(), transaction, { transaction: true }).catch((e: unknown) => e);
    expect(retryAfterMs(err)).toBe(30_000);
    const date = new Date(Date.now() + 120_000).toUTCString();
    server.handle(() => ({ status: 503, headers: { 'retry-after': date } }));
    err = await writeResults(client(), transaction, { transaction: true }).catch((e: unknown) => e);
    expect(retryAfterMs(err)).toBeGreaterThan(100_000);
    expect(retryAfterMs(err)).toBeLessThanOrEqual(120_000);
  });
});

describe('writeResults against an unreachable server', () => {
  it('reports a refused connection as retryable', async () => {
    const gone = await startLoopback();
    await gone.close();
    const c = createFhirClient({
      port: 0,
      fhir: { baseUrl: `${gone.url}/fhir`, timeoutMs: 2000, auth: { mode: 'none' } },
    });
    const err = (await writeResults(c, transaction, { transaction: true }).catch(
      (e: unknown) => e,
    )) as FhirRequestError;
    expect(err).toMatchObject({ status: 503, retryable: true, message: 'FHIR server could not be reached' });
    expect(err.outcome.issue?.[0]?.diagnostics).toBe('ECONNREFUSED');
  });

  it('reports a server that does not answer in time as retryable', async () => {
    server.handle(() => ({ delayMs: 1500, json: {} }));
    const c = createFhirClient({
      port: 0,
      fhir: { baseUrl: `${server.url}/fhir`, timeoutMs: 200, auth: { mode: 'none' } },
    });
    const started = Date.now();
    const err = await writeResults(c, transaction, { transaction: true }).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(err).toMatchObject({ status: 504, retryable: true });
  });
});

describe('writeResults entry by entry (no transaction support)', () => {
  /** Assigns ids, answers conditional creates of known identifiers with 200, and records what it got. */
  function sequentialServer(): (req: RecordedRequest) => Reply {
    let n = 0;
    return (req): Reply => {
      const type = req.path.split('/')[2] as string;
      const resource = req.body ? (JSON.parse(req.body) as Record<string, unknown>) : undefined;
      if (req.method === 'POST' && type === 'Observation') {
        // Conditional create matched an existing resource.
        return { status: 200, json: { ...resource, id: 'obs-existing', meta: { versionId: '1' } } };
      }
      if (req.method === 'PUT' && req.path === '/fhir/DiagnosticReport') {
        // Conditional update that creates; HAPI-style empty body with Location.
        return { status: 201, headers: { location: `${server.url}/fhir/DiagnosticReport/dr-9/_history/1` } };
      }
      if (req.method === 'PUT' && type === 'Flag') {
        return { status: 200, headers: { etag: 'W/"4"' }, json: { ...resource, meta: { versionId: '4' } } };
      }
      n++;
      return { status: 201, json: { ...resource, id: `new-${n}`, meta: { versionId: '1' } } };
    };
  }

  it('executes entries in order, resolving urn:uuid references and keeping conditional headers', async () => {
    server.handle(sequentialServer());
    await expect(writeResults(client(), transaction, { transaction: false })).resolves.toEqual({
      written: 3,
      unchanged: 1,
    });
    const reqs = server.requests;
    expect(reqs.map((r) => `${r.method} ${decodeURIComponent(r.url)}`)).toEqual([
      'POST /fhir/Observation',
      `PUT /fhir/DiagnosticReport?identifier=${ID}|dr-1`,
      'PUT /fhir/Flag/f1',
      'POST /fhir/Provenance',
    ]);
    expect(reqs[0]?.headers['if-none-exist']).toBe(`identifier=${ID}|obs-1`);
    expect(reqs[0]?.headers.prefer).toBe('return=representation');
    expect(reqs[2]?.headers['if-match']).toBe('W/"3"');
    const dr = JSON.parse(reqs[1]?.body ?? '{}');
    expect(dr.result).toEqual([{ reference: 'Observation/obs-existing' }]);
    const provenance = JSON.parse(reqs[3]?.body ?? '{}');
    expect(provenance.target).toEqual([
      { reference: 'DiagnosticReport/dr-9' },
      { reference: 'Observation/obs-existing' },
    ]);
    expect(reqs[3]?.headers['if-none-exist']).toBe('target=DiagnosticReport/dr-9');
    // The caller's Bundle is left as it was.
    expect(transaction.entry?.[1]?.resource).toMatchObject({ result: [{ reference: OBS_URN }] });
  });

  it('stops at the first failing entry, classified', async () => {
    const ok = sequentialServer();
    server.handle((req) => (req.path.startsWith('/fhir/Flag') ? { status: 412 } : ok(req)));
    const err = await writeResults(client(), transaction, { transaction: false }).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 412, retryable: true });
    expect(server.requests).toHaveLength(3);
    server.requests.length = 0;
    server.handle((req) => (req.path.startsWith('/fhir/Flag') ? { status: 422 } : ok(req)));
    const final = await writeResults(client(), transaction, { transaction: false }).catch((e: unknown) => e);
    expect(isRetryable(final)).toBe(false);
  });

  it('refuses an entry that refers to a later entry', async () => {
    server.handle(sequentialServer());
    const reversed: Bundle = { ...transaction, entry: [...(transaction.entry ?? [])].reverse() };
    const err = await writeResults(client(), reversed, { transaction: false }).catch((e: unknown) => e);
    expect(err).toMatchObject({ retryable: false, message: 'Transaction entry refers to a later entry' });
    expect(server.requests).toHaveLength(0);
  });
});

describe("fitsOneTransaction: Medplum's transaction limits (@medplum/fhir-router BatchProcessor)", () => {
  const conditionalPut = (n: number) => ({
    resource: { resourceType: 'Observation' as const, status: 'final' as const, code: { text: 'x' } },
    request: { method: 'PUT' as const, url: `Observation?identifier=${ID}|obs-${n}` },
  });
  const plainPut = (n: number) => ({
    resource: { resourceType: 'Observation' as const, id: `o${n}`, status: 'final' as const, code: { text: 'x' } },
    request: { method: 'PUT' as const, url: `Observation/o${n}` },
  });
  const many = <T>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));

  it.each([
    ['no transaction support', { transaction: false }, many(2, conditionalPut), false],
    ['HAPI, 20 conditional entries', { transaction: true, software: 'hapi' as const }, many(20, conditionalPut), true],
    [
      'Medplum, 8 conditional entries',
      { transaction: true, software: 'medplum' as const },
      many(8, conditionalPut),
      true,
    ],
    [
      'Medplum, 9 conditional entries',
      { transaction: true, software: 'medplum' as const },
      many(9, conditionalPut),
      false,
    ],
    ['Medplum, 50 plain updates', { transaction: true, software: 'medplum' as const }, many(50, plainPut), true],
    ['Medplum, 51 plain updates', { transaction: true, software: 'medplum' as const }, many(51, plainPut), false],
  ])('%s -> one transaction: %s', (_name, caps, entries, expected) => {
    expect(fitsOneTransaction(entries, caps)).toBe(expected);
  });

  it('writes an oversized result for Medplum entry by entry, resolving urn:uuid references', async () => {
    const big: Bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [...(transaction.entry ?? []), ...many(6, conditionalPut)],
    };
    server.handle(async (req: RecordedRequest): Promise<Reply> => {
      const type = req.path.split('?')[0]!.split('/')[2]!;
      return { status: 201, json: { resourceType: type, id: `${type.toLowerCase()}-${server.requests.length}` } };
    });
    const result = await writeResults(client(), big, { transaction: true, software: 'medplum' });
    expect(server.requests.map((r) => r.method)).not.toContain(undefined);
    expect(server.requests.every((r) => r.path !== '/fhir' && r.path !== '/fhir/')).toBe(true);
    expect(server.requests).toHaveLength(10);
    expect(result.written).toBe(10);
    const report = server.requests.find((r) => r.path.startsWith('/fhir/DiagnosticReport'))!;
    expect(JSON.stringify(report.body)).not.toContain('urn:uuid');
  });
});
