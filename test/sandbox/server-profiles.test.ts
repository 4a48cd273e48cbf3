/**
 * The sandbox server profiles over HTTP: each answers its own CapabilityStatement and refuses what that statement
 * does not list, with the status and OperationOutcome of the server it imitates (refusal-styles.ts); what it lists
 * still works. The medplum profile (the default) is the sandbox as before: the rest of test/sandbox covers it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxProfileName } from '../../src/config/change-detection.ts';
import { EPIC_ERROR_SYSTEM } from '../../src/sandbox/server-profiles/refusal-styles.ts';
import type { Json, SandboxHarness } from './harness.ts';
import { startSandbox } from './harness.ts';

const PROFILES: SandboxProfileName[] = ['medplum', 'hapi', 'epic', 'oracle'];
const harnesses = new Map<SandboxProfileName, SandboxHarness>();
const on = (profile: SandboxProfileName): SandboxHarness => harnesses.get(profile) as SandboxHarness;

beforeAll(async () => {
  for (const profile of PROFILES) harnesses.set(profile, await startSandbox({ profile }));
  // Data the hospital's systems put there, whatever the profile allows through the API.
  for (const profile of PROFILES) {
    const res = await on(profile).load({
      resourceType: 'Bundle',
      type: 'collection',
      entry: [
        { resource: { resourceType: 'Patient', id: 'p1', active: true } },
        {
          resource: {
            resourceType: 'DiagnosticReport',
            id: 'dr1',
            status: 'final',
            code: { text: 'CT' },
            subject: { reference: 'Patient/p1' },
          },
        },
      ],
    });
    expect(res.status, profile).toBe(200);
  }
});
afterAll(async () => {
  for (const h of harnesses.values()) await h.close();
});

const resourceOf = (cs: Json, type: string): Json => cs.rest[0].resource.find((r: Json) => r.type === type);
const interactionsOf = (cs: Json, type: string): string[] =>
  (resourceOf(cs, type)?.interaction ?? []).map((i: Json) => i.code).sort();
const paramsOf = (cs: Json, type: string): string[] =>
  (resourceOf(cs, type)?.searchParam ?? []).map((p: Json) => p.name);

describe('GET /metadata per profile', () => {
  it.each([
    ['medplum', ['batch', 'transaction']],
    ['hapi', ['batch', 'transaction']],
    ['epic', []],
    ['oracle', []],
  ] as const)('%s lists system interactions %j', async (profile, system) => {
    const cs = (await on(profile).fhir('GET', 'metadata')).body;
    expect(cs.rest[0].interaction.map((i: Json) => i.code).sort()).toEqual(system);
  });

  it('epic: Flag read-only, DiagnosticReport without create, no conditional request, no Subscription', async () => {
    const cs = (await on('epic').fhir('GET', 'metadata')).body;
    expect(cs.software).toEqual({ name: 'Epic', version: 'May 2026' });
    expect(interactionsOf(cs, 'Flag')).toEqual(['read', 'search-type']);
    expect(interactionsOf(cs, 'DiagnosticReport')).toEqual(['read', 'search-type', 'update']);
    for (const type of ['Observation', 'DocumentReference', 'BodyStructure']) {
      expect(interactionsOf(cs, type), type).toEqual(['create', 'read', 'search-type', 'update']);
    }
    for (const r of cs.rest[0].resource) {
      expect([r.type, r.conditionalCreate, r.conditionalUpdate]).toEqual([r.type, false, false]);
    }
    expect(resourceOf(cs, 'Subscription')).toBeUndefined();
    const withLastUpdated = cs.rest[0].resource.filter((r: Json) => paramsOf(cs, r.type).includes('_lastUpdated'));
    expect(withLastUpdated.map((r: Json) => r.type)).toEqual(['DocumentReference']);
    expect(resourceOf(cs, 'Group').operation).toEqual([
      { name: 'export', definition: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export' },
    ]);
  });

  it('oracle: no Flag, no BodyStructure, Observation and DocumentReference create, _lastUpdated on Observation', async () => {
    const cs = (await on('oracle').fhir('GET', 'metadata')).body;
    expect(resourceOf(cs, 'Flag')).toBeUndefined();
    expect(resourceOf(cs, 'BodyStructure')).toBeUndefined();
    expect(interactionsOf(cs, 'Observation')).toContain('create');
    expect(interactionsOf(cs, 'DocumentReference')).toContain('create');
    expect(interactionsOf(cs, 'DiagnosticReport')).toEqual(['read', 'search-type']);
    expect(paramsOf(cs, 'Observation')).toContain('_lastUpdated');
    expect(resourceOf(cs, 'Subscription')).toBeUndefined();
  });

  it('hapi: HAPI software, conditional requests, rest-hook Subscriptions, no $export', async () => {
    const cs = (await on('hapi').fhir('GET', 'metadata')).body;
    expect(cs.software.name).toBe('HAPI FHIR Server');
    expect(resourceOf(cs, 'Observation').conditionalCreate).toBe(true);
    expect(resourceOf(cs, 'Subscription').documentation).toMatch(/HAPI style/);
    expect(resourceOf(cs, 'Group').operation).toBeUndefined();
  });
});

const observation = {
  resourceType: 'Observation',
  status: 'final',
  code: { text: 'x' },
  subject: { reference: 'Patient/p1' },
  identifier: [{ system: 'urn:test', value: 'o1' }],
};
const flag = { resourceType: 'Flag', status: 'active', code: { text: 'x' }, subject: { reference: 'Patient/p1' } };
const report = {
  resourceType: 'DiagnosticReport',
  status: 'final',
  code: { text: 'CT' },
  subject: { reference: 'Patient/p1' },
};
const transaction = (type: 'transaction' | 'batch') => ({
  resourceType: 'Bundle',
  type,
  entry: [{ resource: observation, request: { method: 'POST', url: 'Observation' } }],
});

interface RefusalCase {
  profile: SandboxProfileName;
  what: string;
  method: string;
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
  status: number;
  code: string;
  text: RegExp;
}

const REFUSED: RefusalCase[] = [
  {
    profile: 'epic',
    what: 'Flag create',
    method: 'POST',
    path: 'Flag',
    body: flag,
    status: 405,
    code: 'not-supported',
    text: /create interaction is not supported for Flag/,
  },
  {
    profile: 'epic',
    what: 'DiagnosticReport create',
    method: 'POST',
    path: 'DiagnosticReport',
    body: report,
    status: 405,
    code: 'not-supported',
    text: /create interaction is not supported for DiagnosticReport/,
  },
  {
    profile: 'epic',
    what: 'a transaction',
    method: 'POST',
    path: '',
    body: transaction('transaction'),
    status: 405,
    code: 'not-supported',
    text: /transaction interaction is not supported/,
  },
  {
    profile: 'epic',
    what: 'a batch',
    method: 'POST',
    path: '',
    body: transaction('batch'),
    status: 405,
    code: 'not-supported',
    text: /batch interaction is not supported/,
  },
  {
    profile: 'epic',
    what: 'conditional create',
    method: 'POST',
    path: 'Observation',
    body: observation,
    headers: { 'if-none-exist': 'identifier=urn:test|o1' },
    status: 405,
    code: 'not-supported',
    text: /Conditional create is not supported for Observation/,
  },
  {
    profile: 'epic',
    what: 'conditional update',
    method: 'PUT',
    path: 'Observation?identifier=urn:test|o1',
    body: observation,
    status: 405,
    code: 'not-supported',
    text: /Conditional update is not supported for Observation/,
  },
  {
    profile: 'epic',
    what: 'Subscription create',
    method: 'POST',
    path: 'Subscription',
    body: { resourceType: 'Subscription' },
    status: 404,
    code: 'not-supported',
    text: /Resource type Subscription is not supported/,
  },
  {
    profile: 'epic',
    what: 'Subscription search',
    method: 'GET',
    path: 'Subscription',
    status: 404,
    code: 'not-supported',
    text: /Resource type Subscription is not supported/,
  },
  {
    profile: 'epic',
    what: 'Observation delete',
    method: 'DELETE',
    path: 'Observation/x',
    status: 405,
    code: 'not-supported',
    text: /delete interaction is not supported for Observation/,
  },
  {
    profile: 'epic',
    what: '$export at system level',
    method: 'GET',
    path: '$export',
    status: 405,
    code: 'not-supported',
    text: /Operation \$export is not supported/,
  },
  {
    profile: 'oracle',
    what: 'Flag create',
    method: 'POST',
    path: 'Flag',
    body: flag,
    status: 404,
    code: 'not-found',
    text: /Resource type Flag is not supported/,
  },
  {
    profile: 'oracle',
    what: 'BodyStructure search',
    method: 'GET',
    path: 'BodyStructure?patient=Patient/p1',
    status: 404,
    code: 'not-found',
    text: /Resource type BodyStructure is not supported/,
  },
  {
    profile: 'oracle',
    what: 'DiagnosticReport create',
    method: 'POST',
    path: 'DiagnosticReport',
    body: report,
    status: 405,
    code: 'not-supported',
    text: /create interaction is not supported for DiagnosticReport/,
  },
  {
    profile: 'oracle',
    what: 'a transaction',
    method: 'POST',
    path: '',
    body: transaction('transaction'),
    status: 405,
    code: 'not-supported',
    text: /transaction interaction is not supported/,
  },
  {
    profile: 'oracle',
    what: 'a search parameter it lacks',
    method: 'GET',
    path: 'Observation?focus=BodyStructure/b',
    status: 400,
    code: 'not-supported',
    text: /Search parameter focus is not supported for Observation/,
  },
  {
    profile: 'oracle',
    what: 'Group $export',
    method: 'GET',
    path: 'Group/oncology/$export',
    status: 404,
    code: 'not-found',
    text: /Resource type Group is not supported/,
  },
  {
    profile: 'hapi',
    what: 'Group $export',
    method: 'GET',
    path: 'Group/oncology/$export',
    status: 400,
    code: 'not-supported',
    text: /does not know how to handle/,
  },
];

describe('what a profile does not list is refused as its server refuses it', () => {
  it.each(REFUSED)(
    '$profile: $what -> $status',
    async ({ profile, method, path, body, headers, status, code, text }) => {
      const h = on(profile);
      const before = h.sandbox.repo.countResources();
      const res = await h.fhir(method, path, body, headers);
      expect(res.status).toBe(status);
      expect(res.body.resourceType).toBe('OperationOutcome');
      expect(res.body.issue[0].code).toBe(code);
      expect(JSON.stringify(res.body.issue[0])).toMatch(text);
      expect(h.sandbox.repo.countResources()).toBe(before);
    },
  );

  it('epic: a search parameter it lacks is refused with Epic error 4100', async () => {
    const res = await on('epic').fhir('GET', 'Observation?subject=Patient/p1&_lastUpdated=gt2020-01-01');
    expect(res.status).toBe(400);
    expect(res.body.issue[0]).toMatchObject({
      severity: 'fatal',
      details: { coding: [{ system: EPIC_ERROR_SYSTEM, code: '4100' }] },
      diagnostics: "Invalid parameter '_lastUpdated'.",
    });
  });

  it('hapi: a search parameter it lacks is refused by the store', async () => {
    const res = await on('hapi').fhir('GET', 'Observation?no-such-param=1');
    expect(res.status).toBe(400);
  });

  it.each(['epic', 'oracle', 'hapi'] as const)(
    '%s: an update naming an old version is a 409 conflict',
    async (profile) => {
      const h = on(profile);
      const current = (await h.fhir('GET', 'DiagnosticReport/dr1')).body;
      const stale = { ...current, conclusion: 'changed' };
      const update = profile === 'oracle' ? 'Observation' : 'DiagnosticReport';
      if (update === 'Observation') {
        const created = await h.fhir('POST', 'Observation', observation);
        const ok = await h.fhir(
          'PUT',
          `Observation/${created.body.id}`,
          { ...created.body, status: 'amended' },
          {
            'if-match': `W/"${created.body.meta.versionId}"`,
          },
        );
        expect(ok.status).toBe(200);
        const conflict = await h.fhir('PUT', `Observation/${created.body.id}`, created.body, {
          'if-match': `W/"${created.body.meta.versionId}"`,
        });
        expect(conflict.status).toBe(409);
        return;
      }
      const ok = await h.fhir('PUT', 'DiagnosticReport/dr1', stale, { 'if-match': `W/"${current.meta.versionId}"` });
      expect(ok.status).toBe(200);
      const conflict = await h.fhir('PUT', 'DiagnosticReport/dr1', current, {
        'if-match': `W/"${current.meta.versionId}"`,
      });
      expect(conflict.status).toBe(409);
      expect(conflict.body.issue[0].code).toBe('conflict');
    },
  );
});

describe('what a profile lists works', () => {
  it.each([
    ['epic', 'POST', 'Observation', observation, 201],
    ['epic', 'GET', 'Flag?subject=Patient/p1', undefined, 200],
    ['epic', 'GET', 'Observation?subject=Patient/p1&code=x&_count=10', undefined, 200],
    ['epic', 'GET', 'Patient/p1', undefined, 200],
    ['epic', 'GET', 'DocumentReference?subject=Patient/p1&_lastUpdated=gt2020-01-01', undefined, 200],
    ['oracle', 'POST', 'Observation', observation, 201],
    ['oracle', 'GET', 'Observation?subject=Patient/p1&_lastUpdated=gt2020-01-01', undefined, 200],
    ['hapi', 'POST', '', transaction('transaction'), 200],
    ['hapi', 'POST', 'Observation', observation, 201],
  ] as const)('%s: %s %s -> %i', async (profile, method, path, body, status) => {
    const res = await on(profile).fhir(method, path, body);
    expect(res.status).toBe(status);
  });
});
