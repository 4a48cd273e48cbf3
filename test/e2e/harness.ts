/** Starts the whole service (sandbox mode) on an ephemeral port for end-to-end tests over real HTTP. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { loadConfig } from '../../src/config.ts';
import { type RunningService, startService } from '../../src/service/start-service.ts';

export const POSTGRES_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export async function startTestService(options: {
  database: 'postgres' | 'pglite';
  schema?: string;
  dataDir?: string;
}): Promise<RunningService> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'irecist-e2e-'));
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    DATA_DIR: dataDir,
    ...(options.database === 'postgres' ? { DATABASE_URL: POSTGRES_URL } : {}),
  });
  config.port = 0;
  return startService(config, {
    host: '127.0.0.1',
    schema: options.schema ?? `e2e_${process.pid}_${Date.now().toString(36)}`,
    queue: { retry: { attempts: 3, delaySeconds: 1, backoff: false }, pollingIntervalSeconds: 0.5 },
  });
}

/** Waits until the sandbox has delivered every notification and the queue has nothing queued or running. */
export async function waitForQuiet(service: RunningService, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let quietRounds = 0;
  while (Date.now() < deadline) {
    await service.sandbox?.waitForIdle();
    const s = await service.queue.stats();
    quietRounds = s.queued + s.active === 0 ? quietRounds + 1 : 0;
    if (quietRounds >= 3) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('service did not become quiet in time');
}

export async function fhir<T = Resource>(
  service: RunningService,
  path: string,
  init?: RequestInit,
): Promise<{ status: number; body: T }> {
  const res = await fetch(`${service.url}/fhir/R4/${path}`, {
    ...init,
    headers: { 'content-type': 'application/fhir+json', ...(init?.headers ?? {}) },
  });
  return { status: res.status, body: (await res.json()) as T };
}

export const resourcesOf = <T extends Resource>(b: Bundle): T[] => (b.entry ?? []).map((e) => e.resource as T);
