/** The service's other commands, run as a user runs them: backfill, subscribe, replay (contract section 3). */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandboxServer } from '../e2e/harness.ts';
import { ROOT, runCli } from './run-cli.ts';

const CASES = join(ROOT, 'samples/cases');
const caseResources = (name: string): Resource[] =>
  ((JSON.parse(readFileSync(join(CASES, `${name}.bundle.json`), 'utf8')) as Bundle).entry ?? []).map(
    (e) => e.resource!,
  );
const expected = (name: string) =>
  JSON.parse(readFileSync(join(CASES, `${name}.expected.json`), 'utf8')) as {
    timepoints: unknown[];
    activeFlag: string | null;
  };
const ndjson = (file: string): Resource[] =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Resource);

/** Writes resources as a Bulk Data export: one NDJSON file per resource type. */
function bulkExport(dir: string, resources: Resource[]): void {
  const byType = new Map<string, string[]>();
  for (const r of resources) byType.set(r.resourceType, [...(byType.get(r.resourceType) ?? []), JSON.stringify(r)]);
  for (const [type, lines] of byType) writeFileSync(join(dir, `${type}.ndjson`), `${lines.join('\n')}\n`);
}

describe('irecist-adapter backfill', () => {
  const names = ['pseudoprogression', 'confirmed-progression', 'responder'];

  it('assesses every patient of a Bulk Data export and writes NDJSON per type, references resolved', async () => {
    const input = mkdtempSync(join(tmpdir(), 'backfill-in-'));
    const output = join(mkdtempSync(join(tmpdir(), 'backfill-out-')), 'out');
    bulkExport(input, names.flatMap(caseResources));
    const run = await runCli(['backfill', '--input', input, '--output', output], { timeoutMs: 60_000 });
    expect(run.status).toBe(0);
    expect(run.stderr).toContain('3 patient(s) assessed, 0 failed, 0 unreadable line(s)');
    expect(readdirSync(output).sort()).toEqual([
      'DiagnosticReport.ndjson',
      'Flag.ndjson',
      'Observation.ndjson',
      'Provenance.ndjson',
    ]);
    const reports = ndjson(join(output, 'DiagnosticReport.ndjson'));
    expect(reports).toHaveLength(names.reduce((n, name) => n + expected(name).timepoints.length, 0));
    expect(ndjson(join(output, 'Flag.ndjson'))).toHaveLength(names.filter((n) => expected(n).activeFlag).length);
    const all = readdirSync(output)
      .map((f) => readFileSync(join(output, f), 'utf8'))
      .join('\n');
    expect(all).not.toContain('urn:uuid:');
    const ids = new Set(
      readdirSync(output).flatMap((f) => ndjson(join(output, f)).map((r) => `${r.resourceType}/${r.id}`)),
    );
    for (const r of reports)
      for (const ref of (r as { result?: { reference?: string }[] }).result ?? [])
        expect(ids.has(ref.reference!)).toBe(true);
  });

  it('reports unreadable lines by file and line number (never their content) and exits 1', async () => {
    const input = mkdtempSync(join(tmpdir(), 'backfill-in-'));
    bulkExport(input, caseResources('responder'));
    writeFileSync(
      join(input, 'Observation.ndjson'),
      `${readFileSync(join(input, 'Observation.ndjson'), 'utf8')}{"secret-name": "Jane Doe"\n`,
    );
    const run = await runCli(['backfill', '--input', input, '--output', join(input, 'out')], { timeoutMs: 60_000 });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/Observation\.ndjson:\d+: not a FHIR resource with an id; skipped/);
    expect(run.stderr).not.toContain('Jane Doe');
  });

  it('without --input/--output says which is missing, prints its usage and exits 2', async () => {
    const run = await runCli(['backfill']);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('error: option --input DIR is required');
    expect(run.stderr).toContain('Usage: irecist-adapter backfill [options]');
  });
});

describe('irecist-adapter subscribe', () => {
  let fhir: Awaited<ReturnType<typeof startSandboxServer>>;
  beforeAll(async () => {
    fhir = await startSandboxServer();
  });
  afterAll(async () => {
    await fhir?.close();
  });

  const env = () => ({
    FHIR_BASE_URL: fhir.baseUrl,
    WEBHOOK_SECRET: 'a-webhook-secret-of-some-length',
    PUBLIC_URL: 'https://adapter.example.org',
  });

  it('creates the Subscriptions once; a second run changes nothing', async () => {
    const first = await runCli(['subscribe'], { env: env() });
    expect(first.status).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ updated: [], unchanged: [] });
    expect(JSON.parse(first.stdout).created).toHaveLength(4);
    const second = await runCli(['subscribe'], { env: env() });
    expect(second.status).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ created: [], updated: [] });
    const subs = await (await fetch(`${fhir.baseUrl}/Subscription`)).json();
    expect(
      (subs as Bundle).entry?.map((e) => (e.resource as { channel?: { endpoint?: string } }).channel?.endpoint),
    ).toEqual(Array(4).fill('https://adapter.example.org/notifications'));
    expect(first.stdout + first.stderr + second.stdout + second.stderr).not.toContain(
      'a-webhook-secret-of-some-length',
    );
  });

  it('refuses an invalid configuration with one line per problem', async () => {
    const run = await runCli(['subscribe'], {
      env: { FHIR_BASE_URL: 'not a url', WEBHOOK_SECRET: 'short' },
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('FHIR_BASE_URL');
    expect(run.stderr).toContain('WEBHOOK_SECRET');
    expect(run.stderr).not.toContain('short');
  });
});

describe('irecist-adapter replay', () => {
  it('a DATA_DIR with no database: nothing to read (exit 1), and a bad --kind is a usage error (exit 2)', async () => {
    const env = { DATA_DIR: mkdtempSync(join(tmpdir(), 'replay-')) };
    const list = await runCli(['replay', '--list'], { env, timeoutMs: 60_000 });
    expect(list.status).toBe(1);
    expect(list.stderr).toContain('Nothing to read');
    const bad = await runCli(['replay', '--kind', 'nope'], { env });
    expect(bad.status).toBe(2);
  });
});

describe('irecist-adapter serve', () => {
  it('a database that cannot be reached: exit 1, one line saying so, no stack trace, no connection string', async () => {
    const run = await runCli(['serve'], {
      env: { PORT: '18931', DATABASE_URL: 'postgres://someone:hunter2-secret@127.0.0.1:1/nowhere' },
      timeoutMs: 60_000,
    });
    expect(run.status).toBe(1);
    expect(run.stderr.trim().split('\n').at(-1)).toBe('irecist-adapter could not start: Database unavailable');
    expect(run.stderr + run.stdout).not.toMatch(/\n\s+at |hunter2-secret|127\.0\.0\.1:1/);
  });
});
