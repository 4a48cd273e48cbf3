import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  CAPABILITIES_MAX_AGE_MS,
  clearCapabilitiesCache,
  forgetCapabilities,
  parseCapabilities,
  readCapabilities,
} from '../../src/fhir/capabilities.ts';
import { createFhirClient } from '../../src/fhir/client-factory.ts';
import { backportNoBatch, hapiLike, medplumLike } from './capability-fixtures.ts';
import { type Loopback, startLoopback } from './loopback.ts';

describe('parseCapabilities', () => {
  it('reads a Medplum-like CapabilityStatement', () => {
    expect(parseCapabilities(medplumLike)).toMatchObject({
      batch: true,
      transaction: true,
      restHook: true,
      backportTopics: false,
      software: 'medplum',
      conditionalUpdate: true,
      conditionalCreate: true,
    });
  });

  it('reads a HAPI-like CapabilityStatement (transaction declared, batch implied)', () => {
    expect(parseCapabilities(hapiLike)).toMatchObject({
      batch: true,
      transaction: true,
      restHook: true,
      backportTopics: false,
      software: 'hapi',
      conditionalUpdate: true,
      conditionalCreate: true,
    });
  });

  it('recognises the Subscriptions Backport IG and missing batch/transaction', () => {
    expect(parseCapabilities(backportNoBatch)).toMatchObject({
      batch: false,
      transaction: false,
      restHook: true,
      backportTopics: true,
      software: 'other',
      conditionalUpdate: false,
      conditionalCreate: false,
    });
  });

  it('assumes nothing of an empty statement', () => {
    expect(parseCapabilities({ resourceType: 'CapabilityStatement' } as never)).toEqual({
      batch: false,
      transaction: false,
      restHook: false,
      backportTopics: false,
      software: undefined,
      conditionalUpdate: false,
      conditionalCreate: false,
      types: {},
    });
  });

  it('keeps what the statement lists per resource type', () => {
    const caps = parseCapabilities(hapiLike);
    expect(caps.types.Flag).toMatchObject({ conditionalCreate: true, conditionalUpdate: true });
    expect(caps.types.Flag?.interactions).toContain('create');
    expect(caps.types.Flag?.versioning).toBe('versioned-update');
  });

  it('needs conditional update on every type the adapter updates', () => {
    const cs = structuredClone(hapiLike);
    const flag = cs.rest?.[0]?.resource?.find((r) => r.type === 'Flag');
    if (flag) flag.conditionalUpdate = false;
    expect(parseCapabilities(cs).conditionalUpdate).toBe(false);
  });
});

describe('readCapabilities', () => {
  let server: Loopback;
  beforeEach(async () => {
    clearCapabilitiesCache();
    server = await startLoopback(() => ({ json: hapiLike }));
  });
  afterEach(() => server.close());

  it('GETs metadata once per process and base URL', async () => {
    const config = {
      port: 0,
      fhir: { baseUrl: `${server.url}/fhir`, timeoutMs: 5000, auth: { mode: 'none' as const } },
    };
    const a = await readCapabilities(createFhirClient(config));
    const b = await readCapabilities(createFhirClient(config));
    expect(a).toBe(b);
    expect(a.software).toBe('hapi');
    expect(server.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /fhir/metadata']);
  });

  it('reads the statement again after a refused write and after CAPABILITIES_MAX_AGE_MS', async () => {
    const client = createFhirClient({
      port: 0,
      fhir: { baseUrl: `${server.url}/fhir`, timeoutMs: 5000, auth: { mode: 'none' } },
    });
    const gets = () => server.requests.filter((r) => r.path === '/fhir/metadata').length;
    await readCapabilities(client);
    await readCapabilities(client);
    expect(gets()).toBe(1);
    forgetCapabilities(client);
    server.handle(() => ({ json: medplumLike }));
    await expect(readCapabilities(client)).resolves.toMatchObject({ software: 'medplum' });
    expect(gets()).toBe(2);
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() + CAPABILITIES_MAX_AGE_MS + 1);
      server.handle(() => ({ json: hapiLike }));
      await expect(readCapabilities(client)).resolves.toMatchObject({ software: 'hapi' });
      expect(gets()).toBe(3);
    } finally {
      vi.useRealTimers();
    }
  });

  it('does not cache a failure', async () => {
    server.handle(() => ({ status: 503 }));
    const client = createFhirClient({
      port: 0,
      fhir: { baseUrl: `${server.url}/fhir`, timeoutMs: 5000, auth: { mode: 'none' } },
    });
    await expect(readCapabilities(client)).rejects.toMatchObject({ status: 503, retryable: true });
    server.handle(() => ({ json: medplumLike }));
    await expect(readCapabilities(client)).resolves.toMatchObject({ software: 'medplum' });
  });
});
