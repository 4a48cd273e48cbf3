/**
 * The worker's one read (src/fhir/read-context-and-earlier.ts) against a fake FHIR server on loopback: the write
 * plan's DiagnosticReport and DocumentReference searches ride in the context batch (or side by side without batch),
 * their pages followed; the earlier results are the adapter's resources of the searched types, the extra searches'
 * resources stay out of the context; a search the earlier results need that failed leaves them undefined.
 */
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IDENTIFIER_SYSTEM } from '../../src/codes.ts';
import { createFhirClient } from '../../src/fhir/client-factory.ts';
import { readContextAndEarlierResults } from '../../src/fhir/read-context-and-earlier.ts';
import { batchResponse, type Loopback, type RecordedRequest, type Reply, startLoopback } from './loopback.ts';

const mine = (resourceType: string, id: string): Resource =>
  ({
    resourceType,
    id,
    identifier: [{ system: IDENTIFIER_SYSTEM, value: `p1/${id}` }],
    subject: { reference: 'Patient/p1' },
  }) as Resource;
const theirs = (resourceType: string, id: string): Resource =>
  ({ resourceType, id, subject: { reference: 'Patient/p1' } }) as Resource;

const searchset = (resources: Resource[], next?: string): Bundle => ({
  resourceType: 'Bundle',
  type: 'searchset',
  link: next ? [{ relation: 'next', url: next }] : [],
  entry: resources.map((resource) => ({ resource, search: { mode: 'match' as const } })),
});

function fakeFhir(server: () => Loopback, overrides: Record<string, Reply> = {}) {
  const answer = (path: string, query: URLSearchParams): Reply => {
    const key = `${path}${query.get('page') ? `?page=${query.get('page')}` : ''}`;
    if (overrides[key]) return overrides[key];
    switch (key) {
      case 'Patient/p1':
        return { json: { resourceType: 'Patient', id: 'p1' } };
      case 'Observation':
        return { json: searchset([theirs('Observation', 'o1'), mine('Observation', 'o2')]) };
      case 'Flag':
        return { json: searchset([mine('Flag', 'f1')]) };
      case 'DiagnosticReport':
        return {
          json: searchset(
            [mine('DiagnosticReport', 'r1'), theirs('DiagnosticReport', 'r0')],
            `${server().url}/fhir/DiagnosticReport?page=2`,
          ),
        };
      case 'DiagnosticReport?page=2':
        return { json: searchset([mine('DiagnosticReport', 'r2')]) };
      case 'DocumentReference':
        return { json: searchset([mine('DocumentReference', 'd1')]) };
      default:
        return { json: searchset([]) };
    }
  };
  return (req: RecordedRequest): Reply => {
    if (req.method === 'POST' && req.path === '/fhir') {
      return { json: batchResponse(req.body, answer) };
    }
    return answer(req.path.replace(/^\/fhir\//, ''), req.query);
  };
}

let server: Loopback;
beforeEach(async () => {
  server = await startLoopback();
});
afterEach(() => server.close());

const client = () =>
  createFhirClient({ port: 0, fhir: { baseUrl: `${server.url}/fhir`, timeoutMs: 5000, auth: { mode: 'none' } } });
const keys = (resources: Resource[] | undefined) => resources?.map((r) => `${r.resourceType}/${r.id}`).sort();
/** A statement that lists no types: every written type searchable by subject (write-plan.ts). */
const caps = (batch: boolean) => ({ batch, transaction: batch, types: {} });
const refused: Reply = { status: 400, json: { resourceType: 'OperationOutcome', issue: [] } };

describe('readContextAndEarlierResults', () => {
  it.each([true, false])(
    'one read (batch %s): the extra searches beside the context, pages followed',
    async (batch) => {
      server.handle(fakeFhir(() => server));
      const read = await readContextAndEarlierResults(client(), 'p1', caps(batch));
      if (batch) {
        expect(server.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
          'POST /fhir',
          'GET /fhir/DiagnosticReport?page=2',
        ]);
        const sent = JSON.parse(server.requests[0]?.body ?? '{}') as Bundle;
        expect(sent.entry?.slice(6).map((e) => e.request?.url)).toEqual([
          'DiagnosticReport?subject=Patient/p1&_count=1000',
          'DocumentReference?subject=Patient/p1&_count=1000',
        ]);
      } else {
        expect(server.requests.filter((r) => r.method === 'POST')).toEqual([]);
        expect(server.requests).toHaveLength(9);
      }
      expect(keys(read.context)).toEqual(['Flag/f1', 'Observation/o1', 'Observation/o2', 'Patient/p1']);
      expect(keys(read.earlier)).toEqual([
        'DiagnosticReport/r1',
        'DiagnosticReport/r2',
        'DocumentReference/d1',
        'Flag/f1',
        'Observation/o2',
      ]);
    },
  );

  it.each(['Flag', 'DiagnosticReport', 'DocumentReference'])(
    'the %s search refused: the context as read, the earlier results left to be read apart',
    async (type) => {
      server.handle(fakeFhir(() => server, { [type]: refused }));
      const read = await readContextAndEarlierResults(client(), 'p1', caps(true));
      expect(keys(read.context)).toContain('Patient/p1');
      expect(read.earlier).toBeUndefined();
    },
  );

  it('a page of an extra search that fails fails the read (as the context searches do)', async () => {
    server.handle(fakeFhir(() => server, { 'DiagnosticReport?page=2': { status: 503 } }));
    await expect(readContextAndEarlierResults(client(), 'p1', caps(true))).rejects.toMatchObject({ status: 503 });
  });
});
