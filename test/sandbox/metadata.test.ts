import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SUBSCRIPTION_CHANNEL_TYPE_EXTENSION } from '../../src/sandbox/capability-statement.ts';
import type { Json, SandboxHarness } from './harness.ts';
import { startSandbox } from './harness.ts';

let h: SandboxHarness;
beforeAll(async () => {
  h = await startSandbox();
});
afterAll(async () => {
  await h.close();
});

describe('GET /metadata', () => {
  it('describes an R4 server with batch, transaction and rest-hook Subscriptions', async () => {
    const res = await h.fhir('GET', 'metadata');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/fhir+json; charset=utf-8');
    const cs = res.body;
    expect(cs.resourceType).toBe('CapabilityStatement');
    expect(cs.fhirVersion).toBe('4.0.1');
    expect(cs.implementation.url).toBe(h.baseUrl);
    const rest = cs.rest[0];
    expect(rest.mode).toBe('server');
    expect(rest.interaction.map((i: Json) => i.code).sort()).toEqual(['batch', 'transaction']);

    const observation = rest.resource.find((r: Json) => r.type === 'Observation');
    expect(observation.interaction.map((i: Json) => i.code)).toEqual(
      expect.arrayContaining(['read', 'vread', 'create', 'update', 'delete', 'history-instance', 'search-type']),
    );
    expect(observation.conditionalCreate).toBe(true);
    expect(observation.conditionalUpdate).toBe(true);
    const params = observation.searchParam.map((p: Json) => p.name);
    expect(params).toEqual(expect.arrayContaining(['_lastUpdated', '_id', 'code', 'subject', 'patient', 'focus']));

    const sub = rest.resource.find((r: Json) => r.type === 'Subscription');
    expect(sub.extension).toEqual([{ url: SUBSCRIPTION_CHANNEL_TYPE_EXTENSION, valueCode: 'rest-hook' }]);
  });
});
