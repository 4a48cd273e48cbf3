/**
 * The Bulk Data client against the real sandbox over loopback HTTP, through a recording proxy that injects the
 * faults a real server has: 429/503 with Retry-After while polling, a failed job, a job gone, a stalled download.
 * The client's waits go through an injected `sleep`, so the tests check what it waited for without waiting.
 */
import type { Resource } from '@medplum/fhirtypes';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type BulkClientOptions, createBulkClient, ExportJobGoneError } from '../../src/bulk/bulk-client.ts';
import type { FhirClientConfig } from '../../src/fhir/client-factory.ts';
import { FhirRequestError } from '../../src/fhir/http-error.ts';
import { OutcomeError } from '../../src/fhir-model/outcomes.ts';
import { type SandboxHarness, startSandbox } from '../sandbox/harness.ts';
import { type LoopbackProxy, type Plan, startProxy } from './loopback-proxy.ts';

let proxy: LoopbackProxy;
let h: SandboxHarness;
let release: (() => void) | undefined;
let hold = false;

beforeAll(async () => {
  proxy = await startProxy();
  h = await startSandbox({
    baseUrl: `${proxy.origin}/fhir/R4`,
    bulkExport: {
      retryAfterSeconds: 2,
      beforeJobRuns: () =>
        hold
          ? new Promise<void>((r) => {
              release = r;
            })
          : Promise.resolve(),
    },
  });
  proxy.target = h.origin;
  for (const id of ['a', 'b']) {
    await h.sandbox.repo.updateResource({ resourceType: 'Patient', id } as Resource);
    await h.sandbox.repo.updateResource({
      resourceType: 'Observation',
      id: `${id}-o`,
      status: 'final',
      code: { text: 'x' },
      subject: { reference: `Patient/${id}` },
    } as Resource);
  }
  await h.sandbox.repo.updateResource({
    resourceType: 'Group',
    id: 'cohort',
    type: 'person',
    actual: true,
    member: [{ entity: { reference: 'Patient/a' } }],
  } as Resource);
});
afterEach(() => {
  hold = false;
  release?.();
  proxy.plan = () => undefined;
  proxy.requests.length = 0;
});
afterAll(async () => {
  await h?.close();
  await proxy?.close();
});

const config = (auth: FhirClientConfig['fhir']['auth'] = { mode: 'none' }, timeoutMs = 5_000): FhirClientConfig => ({
  port: 0,
  fhir: { baseUrl: `${proxy.origin}/fhir/R4`, timeoutMs, auth },
});

/** A client whose waits are recorded (and take no time); `onSleep` runs at each wait. */
function client(options: BulkClientOptions & { onSleep?: (ms: number) => void } = {}, cfg = config()) {
  const waits: number[] = [];
  const bulk = createBulkClient(cfg, {
    sleep: async (ms) => {
      waits.push(ms);
      options.onSleep?.(ms);
    },
    ...options,
  });
  return { bulk, waits };
}

async function linesOf(
  bulk: ReturnType<typeof client>['bulk'],
  manifest: Awaited<ReturnType<typeof bulk.waitForManifest>>,
) {
  const resources: Resource[] = [];
  for (const file of manifest.output) {
    for await (const line of bulk.fileLines(file, manifest)) resources.push(JSON.parse(line.text) as Resource);
  }
  return resources.map((r) => `${r.resourceType}/${r.id}`).sort();
}

const statusPolls = () =>
  proxy.requests.filter((r) => r.method === 'GET' && r.path.includes('/bulk-export/') && !r.path.endsWith('.ndjson'));

describe('Bulk Data client', () => {
  it('kicks off, waits as Retry-After says, passes X-Progress on, streams the files, deletes the job', async () => {
    hold = true;
    const progress: (string | undefined)[] = [];
    const { bulk, waits } = client({ onSleep: () => release?.() });
    const statusUrl = await bulk.kickOff({
      level: { kind: 'group', groupId: 'cohort' },
      types: ['Patient', 'Observation'],
    });
    expect(statusUrl).toMatch(new RegExp(`^${proxy.origin}/fhir/R4/bulk-export/`));
    const kickOff = proxy.requests[0]!;
    expect(kickOff.method).toBe('GET');
    expect(kickOff.path).toBe('/fhir/R4/Group/cohort/$export?_type=Patient%2CObservation');
    expect(kickOff.headers.prefer).toBe('respond-async');
    expect(kickOff.headers.accept).toBe('application/fhir+json');

    const manifest = await bulk.waitForManifest(statusUrl, { onProgress: (p) => progress.push(p) });
    expect(waits[0]).toBe(2000);
    expect(progress[0]).toBe('0% (0 of 2 resources written)');
    expect(await linesOf(bulk, manifest)).toEqual(['Observation/a-o', 'Patient/a']);
    expect(
      proxy.requests
        .filter((r) => r.path.endsWith('.ndjson'))
        .every((r) => r.headers.accept === 'application/fhir+ndjson'),
    ).toBe(true);

    expect(await bulk.release(statusUrl)).toBe(true);
    expect(proxy.requests.at(-1)?.method).toBe('DELETE');
    expect((await h.fhir('GET', statusUrl)).status).toBe(404);
  });

  it('keeps polling through 429 and a transient 503, waiting what their Retry-After says', async () => {
    let polls = 0;
    proxy.plan = (r): Plan => {
      if (!r.path.includes('/bulk-export/') || r.path.endsWith('.ndjson')) return undefined;
      polls++;
      if (polls === 1) return { status: 429, headers: { 'Retry-After': '3' } };
      if (polls === 2)
        return {
          status: 503,
          headers: { 'Retry-After': '5', 'Content-Type': 'application/fhir+json' },
          body: JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'transient' }] }),
        };
      return undefined;
    };
    const { bulk, waits } = client();
    const manifest = await bulk.waitForManifest(await bulk.kickOff({ level: { kind: 'patient' }, types: ['Patient'] }));
    expect(waits.slice(0, 2)).toEqual([3000, 5000]);
    expect(statusPolls().length).toBeGreaterThanOrEqual(3);
    expect(await linesOf(bulk, manifest)).toEqual(['Patient/a', 'Patient/b']);
  });

  it('backs off exponentially when an in-progress answer has no Retry-After', async () => {
    hold = true;
    let polls = 0;
    proxy.plan = (r) => {
      if (!r.path.includes('/bulk-export/')) return undefined;
      polls++;
      return polls <= 3 ? { status: 202 } : undefined;
    };
    const { bulk, waits } = client({ onSleep: () => polls >= 3 && release?.() });
    await bulk.waitForManifest(await bulk.kickOff({ level: { kind: 'system' }, types: ['Group'] }));
    expect(waits.slice(0, 3)).toEqual([1000, 1500, 2250]);
  });

  it.each([
    [500, 'exception', 'The FHIR server reports that the Bulk Data export failed', 'HTTP 500 exception'],
    [400, 'invalid', 'The FHIR server reports that the Bulk Data export failed', 'HTTP 400 invalid'],
  ])('treats a %i (%s) on the status URL as the export failing', async (status, code, text, diagnostics) => {
    proxy.plan = (r) =>
      r.path.includes('/bulk-export/')
        ? {
            status,
            headers: { 'Content-Type': 'application/fhir+json' },
            body: JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code }] }),
          }
        : undefined;
    const { bulk } = client();
    const failure = await bulk
      .waitForManifest(await bulk.kickOff({ level: { kind: 'patient' } }))
      .catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(OutcomeError);
    expect((failure as OutcomeError).outcome.issue?.[0]).toMatchObject({ details: { text }, diagnostics });
  });

  it('says the job is gone when its status URL answers 404', async () => {
    const { bulk } = client();
    const failure = await bulk
      .waitForManifest(`${proxy.origin}/fhir/R4/bulk-export/nothing-here`)
      .catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ExportJobGoneError);
  });

  it('gives up after the longest wait, leaving the job on the server to be polled again', async () => {
    hold = true;
    let clock = 0;
    const { bulk } = client({ maxWaitMs: 10_000, now: () => clock, onSleep: (ms) => (clock += ms) });
    const statusUrl = await bulk.kickOff({ level: { kind: 'patient' } });
    const failure = await bulk.waitForManifest(statusUrl).catch((e: unknown) => e);
    expect((failure as OutcomeError).status).toBe(504);
    expect((failure as OutcomeError).outcome.issue?.[0]?.details?.text).toBe(
      'Bulk Data export did not complete in time; run again to keep waiting for the same job',
    );
    release?.();
    expect((await client().bulk.waitForManifest(statusUrl)).output.length).toBeGreaterThan(0);
  });

  it('retries a kick-off answered 429 after its Retry-After', async () => {
    let kickOffs = 0;
    proxy.plan = (r) =>
      r.path.includes('$export') && ++kickOffs === 1 ? { status: 429, headers: { 'Retry-After': '7' } } : undefined;
    const { bulk, waits } = client();
    await bulk.kickOff({ level: { kind: 'patient' } });
    expect(waits[0]).toBe(7000);
    expect(kickOffs).toBe(2);
  });

  it.each([
    [
      'a Group the server does not have',
      { level: { kind: 'group', groupId: 'none' } },
      404,
      'The FHIR server refused the Bulk Data export',
    ],
  ] as const)('refuses %s with the server status', async (_what, request, status, text) => {
    const failure = await client()
      .bulk.kickOff(request)
      .catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(FhirRequestError);
    expect((failure as FhirRequestError).status).toBe(status);
    expect((failure as FhirRequestError).outcome.issue?.[0]?.details?.text).toBe(text);
  });

  it.each([
    ['an unknown resource type', { level: { kind: 'system' }, types: ['Nonsense'] }, 'Unknown resource type'],
    [
      'a since that is not an instant',
      { level: { kind: 'system' }, since: 'yesterday' },
      'since must be a FHIR instant (e.g. 2026-01-31T00:00:00Z)',
    ],
    ['an invalid Group id', { level: { kind: 'group', groupId: 'a/b' } }, 'Invalid Group id'],
  ] as const)('refuses %s before sending anything', async (_what, request, text) => {
    const failure = await client()
      .bulk.kickOff(request as never)
      .catch((e: unknown) => e);
    expect((failure as OutcomeError).status).toBe(400);
    expect((failure as OutcomeError).outcome.issue?.[0]?.details?.text).toBe(text);
    expect(proxy.requests).toHaveLength(0);
  });

  it('refuses a server that answers the kick-off synchronously', async () => {
    proxy.plan = (r) => (r.path.includes('$export') ? { status: 200, body: '{}' } : undefined);
    const failure = await client()
      .bulk.kickOff({ level: { kind: 'patient' } })
      .catch((e: unknown) => e);
    expect((failure as OutcomeError).outcome.issue?.[0]?.details?.text).toBe(
      'The FHIR server did not start an asynchronous Bulk Data export',
    );
  });

  it('sends the token with the kick-off and the polls, and with the files only when the manifest asks for it', async () => {
    const { bulk } = client({}, config({ mode: 'bearer', token: 'secret-token' }));
    const manifest = await bulk.waitForManifest(await bulk.kickOff({ level: { kind: 'patient' }, types: ['Patient'] }));
    await linesOf(bulk, manifest);
    const auth = (r: { headers: { authorization?: string } }) => r.headers.authorization;
    const files = proxy.requests.filter((r) => r.path.endsWith('.ndjson'));
    expect(proxy.requests.filter((r) => !r.path.endsWith('.ndjson')).map(auth)).toEqual(
      proxy.requests.filter((r) => !r.path.endsWith('.ndjson')).map(() => 'Bearer secret-token'),
    );
    expect(files.map(auth)).toEqual([undefined]);
    proxy.requests.length = 0;
    await linesOf(bulk, { ...manifest, requiresAccessToken: true });
    expect(proxy.requests.map(auth)).toEqual(['Bearer secret-token']);
  });

  it('fails a download that stalls half-way with a retryable timeout', async () => {
    const { bulk } = client({}, config({ mode: 'none' }, 300));
    const manifest = await bulk.waitForManifest(await bulk.kickOff({ level: { kind: 'patient' }, types: ['Patient'] }));
    proxy.plan = (r) => (r.path.endsWith('.ndjson') ? { stallAfterBytes: 10 } : undefined);
    const failure = await linesOf(bulk, manifest).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(FhirRequestError);
    expect((failure as FhirRequestError).retryable).toBe(true);
    expect((failure as FhirRequestError).status).toBe(504);
  });
});
