/**
 * writePatientResults against a server that refuses what its statement listed (loopback HTTP): the write fails for
 * the queue to retry, and the server's CapabilityStatement is read again before the retry, so the plan follows the
 * server. And a type the statement does not list is not written at all, and counted.
 */
import type { Bundle, CapabilityStatement } from '@medplum/fhirtypes';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IDENTIFIER_SYSTEM } from '../../src/codes.ts';
import { clearCapabilitiesCache, readCapabilities } from '../../src/fhir/capabilities.ts';
import { createFhirClient } from '../../src/fhir/client-factory.ts';
import { writePatientResults } from '../../src/fhir/write-patient-results.ts';
import { memoryLedger } from '../../src/fhir/written-resources.ts';
import { type Loopback, startLoopback } from './loopback.ts';

const rule = (interactions: string[]) => ({
  interaction: interactions.map((code) => ({ code })),
  searchParam: [{ name: 'subject', type: 'reference' }],
});

const statement = (flag: string[]): CapabilityStatement =>
  ({
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: '2026-01-01',
    kind: 'instance',
    fhirVersion: '4.0.1',
    format: ['json'],
    rest: [
      {
        mode: 'server',
        resource: [
          { type: 'Observation', ...rule(['read', 'search-type', 'create', 'update']) },
          { type: 'Flag', ...rule(flag) },
        ],
      },
    ],
  }) as CapabilityStatement;

const rendered: Bundle = {
  resourceType: 'Bundle',
  type: 'transaction',
  entry: [
    {
      fullUrl: 'urn:uuid:5f1e0000-0000-4000-8000-000000000001',
      resource: {
        resourceType: 'Flag',
        identifier: [{ system: IDENTIFIER_SYSTEM, value: 'p1/flag/confirmed-progression/2026-01-01' }],
        status: 'active',
        code: { text: 'x' },
        subject: { reference: 'Patient/p1' },
      },
      request: { method: 'PUT', url: 'Flag?identifier=x' },
    },
  ],
};

describe('writePatientResults', () => {
  let server: Loopback;
  let flag = ['read', 'search-type', 'create'];
  beforeEach(async () => {
    clearCapabilitiesCache();
    flag = ['read', 'search-type', 'create'];
    server = await startLoopback((req) => {
      if (req.path.endsWith('/metadata')) return { json: statement(flag) };
      if (req.method === 'GET') return { json: { resourceType: 'Bundle', type: 'searchset', entry: [] } };
      return {
        status: 405,
        json: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'not-supported' }] },
      };
    });
  });
  afterEach(() => server.close());

  it('reads the statement again after the server refused a write its statement listed', async () => {
    const client = createFhirClient({
      port: 0,
      fhir: { baseUrl: `${server.url}/fhir`, timeoutMs: 5000, auth: { mode: 'none' } },
    });
    const metadataReads = () => server.requests.filter((r) => r.path.endsWith('/metadata')).length;
    const ledger = memoryLedger();
    await expect(
      writePatientResults(client, 'p1', rendered, await readCapabilities(client), ledger),
    ).rejects.toMatchObject({ status: 405 });
    expect(server.requests.some((r) => r.method === 'POST' && r.path === '/fhir/Flag')).toBe(true);
    // The server no longer lists Flag create: the next job's plan does not write it.
    flag = ['read', 'search-type'];
    const caps = await readCapabilities(client);
    expect(metadataReads()).toBe(2);
    const result = await writePatientResults(client, 'p1', rendered, caps, ledger);
    expect(result).toMatchObject({ written: 0, skipped: [{ type: 'Flag', reason: 'not-writable' }] });
    expect(result.plan.lines).toContain(
      'Flag: not writable on this server; status written as CancerDiseaseStatus Observation',
    );
    expect(await ledger.wrote('p1')).toEqual(new Set());
  });
});
