/**
 * Compressed bodies on /notifications (issue 12 item 1): any X-Signature value is a credential that could pass, so
 * such a request gets as far as its body. Servers do not compress deliveries, and inflating before the HMAC check let
 * 27-byte brotli requests make the process hold 10 MiB each (0.6 -> 2.1 GB for 100). The adapter runs as a child
 * process (its own memory to measure: /proc/PID/status, VmHWM = peak resident set); 100 unauthenticated compressed
 * requests at once each get 415 with an OperationOutcome, and the peak resident set grows by less than 64 MiB.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type AdapterProcess, adapterProcess } from '../chaos/adapter-process.ts';
import { type SandboxServer, startSandboxServer } from '../e2e/harness.ts';

const MiB = 1024 * 1024;
let fhir: SandboxServer;
let adapter: AdapterProcess;

beforeAll(async () => {
  fhir = await startSandboxServer();
  adapter = await adapterProcess({
    fhirBaseUrl: fhir.baseUrl,
    database: { kind: 'pglite', dataDir: mkdtempSync(join(tmpdir(), 'irecist-compressed-')) },
    label: 'compressed',
    env: { LOG_LEVEL: 'warn' },
  });
  await adapter.start();
}, 60_000);

afterAll(async () => {
  await adapter?.stop();
  await fhir?.close();
});

/** The process's resident set now and its peak so far, in bytes (Linux). */
function memory(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { rss: kib('VmRSS') * 1024, peak: kib('VmHWM') * 1024 };
}

it('100 unauthenticated compressed requests: each 415 with an OperationOutcome, memory bounded', async () => {
  const pid = adapter.pid as number;
  // A little over the 10 MiB body limit once inflated: the most one request could have made the adapter hold.
  const plain = Buffer.alloc(10 * MiB + 1, 0x20);
  const bombs = [
    ['br', brotliCompressSync(plain)],
    ['gzip', gzipSync(plain)],
    ['deflate', deflateSync(plain)],
  ] as const;
  expect(bombs[0][1].length).toBeLessThan(100); // a few dozen bytes on the wire
  // Warm up the path once, so the baseline includes what any first request allocates.
  await fetch(`${adapter.url}/healthz`);
  const before = memory(pid);
  const answers = await Promise.all(
    Array.from({ length: 100 }, async (_, i) => {
      const [encoding, body] = bombs[i % bombs.length] as (typeof bombs)[number];
      const res = await fetch(`${adapter.url}/notifications`, {
        method: 'POST',
        headers: {
          'content-type': 'application/fhir+json',
          'content-encoding': encoding,
          'x-signature': 'f'.repeat(64),
        },
        body,
      });
      return { status: res.status, json: (await res.json()) as { resourceType?: string; issue?: { code?: string }[] } };
    }),
  );
  const after = memory(pid);
  // Inflating them would take at least 100 x 10 MiB; refusing them takes next to nothing.
  expect(after.peak - before.peak).toBeLessThan(64 * MiB);
  expect(after.rss - before.rss).toBeLessThan(64 * MiB);
  for (const answer of answers) {
    expect(answer.status).toBe(415);
    expect(answer.json.resourceType).toBe('OperationOutcome');
    expect(answer.json.issue?.[0]?.code).toBe('not-supported');
  }
}, 60_000);
