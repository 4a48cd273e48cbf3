/**
 * One end-to-end test per sandbox server profile (issue #9, "How it will be judged"): the whole service in sandbox
 * mode with SANDBOX_PROFILE, a case loaded with POST /sandbox/load (as a hospital's own systems put data there), and
 * nothing else: the change detection in force (Subscriptions on medplum and hapi, Group `$export` on epic,
 * `_lastUpdated` on oracle) finds it and the adapter writes exactly the outputs that profile can hold, as `assess` gives
 * them for the server's data (on epic: CancerDiseaseStatus Observations and DocumentReferences, no Flag, no
 * conditional request, no transaction). Loading the case again changes nothing.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bundle } from '@medplum/fhirtypes';
import { afterEach, describe, expect, it } from 'vitest';
import type { SandboxProfileName } from '../../src/config/change-detection.ts';
import { loadConfig } from '../../src/config.ts';
import type { SandboxRepository } from '../../src/sandbox/index.ts';
import { type RunningService, startService } from '../../src/service/start-service.ts';
import { loadCase } from './cases.ts';
import { loadIntoSandbox, POSTGRES_URL, waitFor, waitForQueueQuiet } from './harness.ts';
import { expectedOutputs, versions, written } from './profile-outputs.ts';

const CASE = 'confirmed-progression';
let service: RunningService | undefined;
afterEach(async () => {
  await service?.close();
  service = undefined;
});

interface Recorded {
  method: string;
  url: string;
  headers: Record<string, string>;
}

async function start(profile: SandboxProfileName, requests: Recorded[]): Promise<RunningService> {
  const config = loadConfig({
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
    DATA_DIR: mkdtempSync(join(tmpdir(), 'irecist-profiles-')),
    DATABASE_URL: POSTGRES_URL,
    SANDBOX_PROFILE: profile,
    // Every detection run (and the safety net) each second, so the test waits seconds, not minutes.
    POLL_INTERVAL_SECONDS: '1',
  });
  config.port = 0;
  const recording = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.toString() : input.url;
    const headers = Object.fromEntries(new Headers(init?.headers).entries());
    requests.push({ method: (init?.method ?? 'GET').toUpperCase(), url, headers });
    return fetch(input, init);
  };
  return startService(config, {
    host: '127.0.0.1',
    schema: `profiles_${profile}_${process.pid}_${Date.now().toString(36)}`,
    queue: { retry: { attempts: 3, delaySeconds: 1, backoff: false }, pollingIntervalSeconds: 0.5 },
    fetch: recording as never,
  });
}

/** A write to a FHIR resource (the Bulk Data job's DELETE, which releases its files, is not one). */
const isWrite = (r: Recorded): boolean =>
  ['POST', 'PUT', 'PATCH', 'DELETE'].includes(r.method) &&
  !r.url.includes('_search') &&
  !r.url.includes('/bulk-export/');

describe.each([
  ['medplum', 'subscriptions'],
  ['hapi', 'subscriptions'],
  ['epic', 'bulk-export'],
  ['oracle', 'last-updated'],
] as const)('the %s profile, end to end', (profile, mode) => {
  it(`a loaded case is found by ${mode} and ends with exactly the outputs the profile can hold`, {
    timeout: 90_000,
  }, async () => {
    const requests: Recorded[] = [];
    service = await start(profile, requests);
    expect(service.detection.choice.mode).toBe(mode);
    const tc = loadCase(CASE, `profile-${profile}`);
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'collection',
      entry: tc.resources.map((resource) => ({ resource })),
    };
    await loadIntoSandbox(service.url, bundle);
    const repo = service.sandbox?.repo as SandboxRepository;
    const expected = await expectedOutputs(`${service.url}/fhir/R4`, repo, tc.patientId);
    expect(Object.keys(expected).length).toBeGreaterThan(0);
    await waitFor(
      () => JSON.stringify(written(repo, tc.patientId)) === JSON.stringify(expected),
      `${profile}: the outputs written`,
      60_000,
    );
    await waitForQueueQuiet(service.queue, 30_000);
    expect(written(repo, tc.patientId)).toEqual(expected);

    if (profile === 'epic') {
      expect(Object.keys(expected).sort()).toEqual(['DocumentReference', 'Observation']);
      expect(expected.Observation?.some((line) => line.includes('disease-status'))).toBe(true);
    }
    if (profile === 'epic' || profile === 'oracle') {
      expect(expected.Flag).toBeUndefined();
      const base = service.sandbox?.baseUrl as string;
      const offending = requests.filter(
        (r) =>
          (r.method === 'POST' && (r.url === base || r.url === `${base}/`)) ||
          r.headers['if-none-exist'] !== undefined ||
          (isWrite(r) && r.url.startsWith(base) && r.url.includes('?')),
      );
      expect(offending, 'no transaction or batch, no conditional request').toEqual([]);
    }

    // Loaded again: nothing changed on the server, so no output gets a new version.
    await service.sandbox?.waitForIdle();
    await waitForQueueQuiet(service.queue, 30_000);
    const before = versions(repo, tc.patientId);
    await loadIntoSandbox(service.url, bundle);
    await service.detection.task.runOnce();
    await service.sandbox?.waitForIdle();
    await waitForQueueQuiet(service.queue, 30_000);
    expect(written(repo, tc.patientId)).toEqual(expected);
    expect(versions(repo, tc.patientId)).toEqual(before);
  });
});
