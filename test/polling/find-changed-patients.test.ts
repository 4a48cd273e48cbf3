import type { Resource } from '@medplum/fhirtypes';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IDENTIFIER_SYSTEM, IRECIST_SYSTEM } from '../../src/codes.ts';
import { findChangedPatients } from '../../src/polling/find-changed-patients.ts';
import { type FakeFhirServer, startFakeFhirServer } from '../registration/fake-fhir-server.ts';

const T0 = Date.parse('2025-03-01T10:00:00.000Z');
const at = (seconds: number): string => new Date(T0 + seconds * 1000).toISOString();

const tumorSize = (id: string, patient: string): Resource =>
  ({
    resourceType: 'Observation',
    id,
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '21889-1' }] },
    subject: { reference: `Patient/${patient}` },
  }) as Resource;

describe('findChangedPatients against a loopback FHIR server', () => {
  let server: FakeFhirServer;

  beforeEach(async () => {
    server = await startFakeFhirServer();
  });
  afterEach(async () => {
    await server.close();
  });

  it('collects patients across pages of every input type and reports the newest lastUpdated', async () => {
    for (let i = 0; i < 7; i++) server.seed(tumorSize(`o${i}`, `p${i % 3}`), at(10 + i));
    server.seed(
      {
        resourceType: 'ImagingStudy',
        id: 'is1',
        status: 'available',
        subject: { reference: 'Patient/p3' },
      } as Resource,
      at(5),
    );
    server.seed(
      {
        resourceType: 'MedicationAdministration',
        id: 'ma1',
        status: 'completed',
        medicationCodeableConcept: { text: 'pembrolizumab' },
        subject: { reference: `${server.fhirBase}/Patient/p4` },
        effectiveDateTime: '2025-01-01',
      } as Resource,
      at(30),
    );
    server.seed({ resourceType: 'BodyStructure', id: 'bs1', patient: { reference: 'Patient/p5' } } as Resource, at(6));
    server.seed({ resourceType: 'Patient', id: 'p6' } as Resource, at(7));

    const result = await findChangedPatients(server.client(), at(0), undefined, { pageSize: 2 });
    expect(result.patientIds).toEqual(['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6']);
    expect(result.newest).toBe(at(30));
    expect(result.resources).toHaveLength(11);

    // Paging really happened: four Observation pages of two.
    const observationSearches = server.requests.filter((r) => r.method === 'GET' && r.path === '/fhir/R4/Observation');
    expect(observationSearches).toHaveLength(4);
    // The search asked only for what locates the patient.
    expect(decodeURIComponent(observationSearches[0]!.query)).toContain('_elements=subject,identifier,meta');
  });

  it('ignores adapter-written resources and Observations with codes it does not watch', async () => {
    server.seed(
      {
        ...tumorSize('mine', 'p-adapter'),
        code: { coding: [{ system: IRECIST_SYSTEM, code: 'timepoint-response' }] },
        identifier: [{ system: IDENTIFIER_SYSTEM, value: 'timepoint-1' }],
      } as Resource,
      at(20),
    );
    server.seed(
      {
        ...tumorSize('mine-2', 'p-adapter'),
        identifier: [{ system: IDENTIFIER_SYSTEM, value: 'timepoint-2' }],
      } as Resource,
      at(21),
    );
    server.seed(
      {
        ...tumorSize('bp', 'p-other'),
        code: { coding: [{ system: 'http://loinc.org', code: '85354-9' }] },
      } as Resource,
      at(22),
    );
    server.seed(tumorSize('real', 'p-real'), at(15));
    server.seed(
      {
        resourceType: 'Observation',
        id: 'ecog',
        status: 'final',
        code: { coding: [{ system: 'http://loinc.org', code: '89247-1' }] },
        subject: { reference: 'Patient/p-ecog' },
      } as Resource,
      at(16),
    );

    const result = await findChangedPatients(server.client(), at(0));
    expect(result.patientIds).toEqual(['p-real', 'p-ecog']);
    expect(result.resources.map((r) => r.ref)).toEqual(['Observation/real', 'Observation/ecog']);
    // The adapter's own write still moves `newest`, so the poller does not look at it again.
    expect(result.newest).toBe(at(21));
  });

  it('keeps only the resources within resourcesWindowMs of newest when asked', async () => {
    server.seed(tumorSize('a', 'pa'), at(10));
    server.seed(tumorSize('b', 'pb'), at(28));
    server.seed(tumorSize('c', 'pc'), at(30));
    const result = await findChangedPatients(server.client(), at(0), undefined, { resourcesWindowMs: 5_000 });
    expect(result.patientIds).toEqual(['pa', 'pb', 'pc']);
    expect(result.resources.map((r) => r.ref)).toEqual(['Observation/b', 'Observation/c']);
  });

  it('is exclusive at since and inclusive at until', async () => {
    server.seed(tumorSize('a', 'pa'), at(10));
    server.seed(tumorSize('b', 'pb'), at(20));
    server.seed(tumorSize('c', 'pc'), at(30));
    const result = await findChangedPatients(server.client(), at(10), at(20));
    expect(result.patientIds).toEqual(['pb']);
  });

  it('returns since as newest when nothing changed', async () => {
    const result = await findChangedPatients(server.client(), at(0));
    expect(result).toEqual({ patientIds: [], newest: at(0), resources: [] });
  });

  // Known gap (README, "Decisions and known gaps"): a `_lastUpdated` search does not return deleted resources, so a
  // poll cannot see a deletion; only the Subscriptions deliver them. This fails until polling reads `_history`.
  it.fails('finds the patient whose input was deleted after the checkpoint', async () => {
    server.seed(tumorSize('gone', 'p-deleted'), at(10));
    const client = server.client();
    await client.deleteResource('Observation', 'gone');
    const result = await findChangedPatients(client, at(20));
    expect(result.patientIds).toEqual(['p-deleted']);
  });

  it('rejects a since that is not an instant', async () => {
    await expect(findChangedPatients(server.client(), 'yesterday')).rejects.toThrow('Expected an instant');
  });
});
