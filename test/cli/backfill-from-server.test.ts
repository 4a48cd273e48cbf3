/**
 * `backfill --from-server` as a user runs it: the real command line in a child process against the sandbox over
 * loopback HTTP (its Bulk Data $export, its FHIR API), state in a PGlite directory of its own. The sample cases are
 * loaded with POST /sandbox/load; what the backfill wrote is checked on the server: every patient's results are what
 * the service's worker writes (assessing again writes nothing), each adapter resource has one version (written
 * once), also after the backfill was SIGKILLed or interrupted halfway and run again.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Resource } from '@medplum/fhirtypes';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readCapabilities } from '../../src/fhir/capabilities.ts';
import { createFhirClient } from '../../src/fhir/client-factory.ts';
import { isAdapterWritten } from '../../src/fhir-model/resource-owner.ts';
import { logger } from '../../src/logging.ts';
import { createMetrics } from '../../src/server/metrics.ts';
import { assessPatientJob } from '../../src/worker/assess-patient.ts';
import { type Json, type SandboxHarness, startSandbox } from '../sandbox/harness.ts';
import { BIN, ROOT } from './run-cli.ts';

const CASES = join(ROOT, 'samples', 'cases');
const caseFiles = readdirSync(CASES).filter((f) => f.endsWith('.bundle.json'));
const patientIds = caseFiles.map((f) => f.replace('.bundle.json', '')).sort();
const OUTPUT_TYPES = ['DiagnosticReport', 'Observation', 'Flag', 'Provenance', 'DocumentReference'];

let h: SandboxHarness;
const dirs: string[] = [];
const children: ChildProcess[] = [];

beforeAll(async () => {
  h = await startSandbox();
});
afterAll(async () => {
  await h?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});

/** A sandbox of its own per test: the cases loaded, nothing assessed. */
async function freshSandbox(): Promise<void> {
  await h.close();
  h = await startSandbox();
  for (const file of caseFiles) {
    const res = await h.load(JSON.parse(readFileSync(join(CASES, file), 'utf8')));
    expect(res.status).toBe(200);
  }
}

function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'irecist-backfill-test-'));
  dirs.push(dir);
  return dir;
}

interface Run {
  child: ChildProcess;
  done: Promise<{ status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

/** The command line as a child process (no DATABASE_URL: PGlite in `dir`). */
function backfill(args: string[], dir: string, env: Record<string, string> = {}): Run {
  const { DATABASE_URL: _ignored, ...inherited } = process.env;
  const child = spawn(process.execPath, [BIN, 'backfill', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...inherited, FHIR_BASE_URL: h.baseUrl, DATA_DIR: dir, ...env },
  });
  children.push(child);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout?.on('data', (b: Buffer) => out.push(b));
  child.stderr?.on('data', (b: Buffer) => err.push(b));
  const done = new Promise<Awaited<Run['done']>>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (status, signal) =>
      resolve({
        status,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      }),
    );
  });
  return { child, done };
}

async function search(type: string, query = ''): Promise<Resource[]> {
  const res = await h.fhir('GET', `/${type}?_count=1000${query}`);
  expect(res.status).toBe(200);
  return (res.body.entry ?? []).map((e: Json) => e.resource as Resource);
}

/** Every resource the adapter wrote on the server. */
async function adapterResources(): Promise<Resource[]> {
  const all = await Promise.all(OUTPUT_TYPES.map((t) => search(t)));
  return all.flat().filter(isAdapterWritten);
}

/** The versions of each adapter resource (1 each when every result was written once). */
async function versionCounts(): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const r of await adapterResources()) {
    const history = await h.fhir('GET', `/${r.resourceType}/${r.id}/_history`);
    counts.set(`${r.resourceType}/${r.id}`, history.body.entry.length);
  }
  return counts;
}

/**
 * What the service's worker changes on the server when it assesses every patient now: nothing (the server sees only
 * writes that change nothing), when the backfill wrote what the worker writes.
 */
async function workerChangesAgain(): Promise<string[]> {
  const client = createFhirClient({ port: 0, fhir: { baseUrl: h.baseUrl, timeoutMs: 10_000, auth: { mode: 'none' } } });
  const deps = { client, capabilities: () => readCapabilities(client), metrics: createMetrics(), logger };
  const changes: string[] = [];
  const unsubscribe = h.sandbox.repo.onCommit((events) => {
    for (const e of events)
      if (e.interaction !== 'unchanged') changes.push(`${e.interaction} ${e.resource.resourceType}/${e.resource.id}`);
  });
  try {
    for (const id of patientIds) await assessPatientJob(deps, id);
  } finally {
    unsubscribe();
  }
  return changes;
}

/** Kills the child with `signal` once the server has committed `n` DiagnosticReports. */
function stopAfterReports(run: Run, n: number, signal: NodeJS.Signals): () => void {
  let seen = 0;
  return h.sandbox.repo.onCommit((events) => {
    seen += events.filter((e) => e.interaction === 'create' && e.resource.resourceType === 'DiagnosticReport').length;
    if (seen >= n && run.child.exitCode === null) run.child.kill(signal);
  });
}

describe('backfill --from-server', { timeout: 240_000 }, () => {
  it('assesses every patient of the export and writes what the worker writes, each result once', async () => {
    await freshSandbox();
    const dir = dataDir();
    const first = await backfill(['--from-server'], dir).done;
    expect(first.stderr).toContain(`backfill: ${patientIds.length} patient(s)`);
    expect(first.status).toBe(0);
    const summary = JSON.parse(first.stdout);
    expect(summary.counts).toEqual({ pending: 0, done: patientIds.length, gone: 0, failed: 0 });
    expect(summary.resumed).toBe(false);
    const reports = await search('DiagnosticReport');
    expect(new Set(reports.map((r: Json) => r.subject.reference)).size).toBeGreaterThan(patientIds.length / 2);
    expect([...(await versionCounts()).values()].every((n) => n === 1)).toBe(true);
    expect(await workerChangesAgain()).toEqual([]);

    // A second backfill is a new export: everything assessed again, nothing written twice.
    const again = await backfill(['--from-server', '--patient-level'], dir).done;
    expect(again.status).toBe(0);
    expect([...(await versionCounts()).values()].every((n) => n === 1)).toBe(true);
  });

  it.each(['SIGKILL', 'SIGINT'] as const)('stopped halfway by %s, resumes and writes each result once', async (sig) => {
    await freshSandbox();
    const dir = dataDir();
    const run = backfill(['--from-server', '--concurrency', '1'], dir);
    const unsubscribe = stopAfterReports(run, 4, sig);
    const stopped = await run.done;
    unsubscribe();
    if (sig === 'SIGKILL') expect(stopped.signal).toBe('SIGKILL');
    else {
      expect(stopped.status).toBe(130);
      expect(stopped.stderr).toContain('run the same command again to resume');
    }
    const before = (await search('DiagnosticReport')).length;
    expect(before).toBeGreaterThanOrEqual(4);

    const resumed = await backfill(['--from-server', '--concurrency', '1'], dir).done;
    expect(resumed.status).toBe(0);
    const summary = JSON.parse(resumed.stdout);
    expect(summary.resumed).toBe(true);
    expect(summary.staged).toBe(0); // the export was not downloaded again
    expect(summary.counts.done).toBe(patientIds.length);
    expect(resumed.stderr).toContain('resuming the unfinished backfill (assess phase)');
    expect([...(await versionCounts()).values()].every((n) => n === 1)).toBe(true);
    expect(await workerChangesAgain()).toEqual([]);
  });

  it('--dry-run writes NDJSON and nothing to the server; the next run writes the same export', async () => {
    await freshSandbox();
    const dir = dataDir();
    const out = join(dataDir(), 'results');
    const dry = await backfill(['--from-server', '--dry-run', '--output', out], dir).done;
    expect(dry.status).toBe(0);
    expect(await adapterResources()).toEqual([]);
    const lines = readFileSync(join(out, 'DiagnosticReport.ndjson'), 'utf8').trim().split('\n');
    const reports = lines.map((l) => JSON.parse(l));
    expect(reports.length).toBeGreaterThan(0);
    expect(reports.every((r) => r.resourceType === 'DiagnosticReport' && typeof r.id === 'string')).toBe(true);
    expect(dry.stderr).toContain('run again without --dry-run');

    const real = await backfill(['--from-server'], dir).done;
    expect(real.status).toBe(0);
    expect(JSON.parse(real.stdout).resumed).toBe(true);
    expect((await search('DiagnosticReport')).length).toBe(reports.length);
  });

  it('--group exports the members only; --since assesses the patients changed since, from their whole record', async () => {
    await freshSandbox();
    const [a, b, c] = patientIds as [string, string, string];
    const group = {
      resourceType: 'Group',
      id: 'cohort',
      type: 'person',
      actual: true,
      member: [a, b].map((id) => ({ entity: { reference: `Patient/${id}` } })),
    };
    expect((await h.fhir('PUT', '/Group/cohort', group)).status).toBeLessThan(300);
    const dir = dataDir();
    const grouped = await backfill(['--from-server', '--group', 'cohort'], dir).done;
    expect(grouped.status).toBe(0);
    expect(JSON.parse(grouped.stdout).counts.done).toBe(2);
    const subjects = new Set((await search('DiagnosticReport')).map((r: Json) => r.subject.reference));
    expect([...subjects].every((s) => s === `Patient/${a}` || s === `Patient/${b}`)).toBe(true);

    const since = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 20));
    const patient = (await h.fhir('GET', `/Patient/${c}`)).body;
    expect((await h.fhir('PUT', `/Patient/${c}`, { ...patient, language: 'en-GB' })).status).toBe(200);
    const changed = await backfill(['--from-server', '--since', since], dir).done;
    expect(changed.status).toBe(0);
    expect(JSON.parse(changed.stdout).counts.done).toBe(1);
    const reportsOfC = await search('DiagnosticReport', `&subject=Patient/${c}`);
    expect(reportsOfC.length).toBeGreaterThan(0); // assessed from the server's whole record, not the one change
  });

  it('says what is wrong with the command line or the state, one line each', async () => {
    const dir = dataDir();
    const both = await backfill(['--from-server', '--group', 'g', '--patient-level'], dir).done;
    expect(both.status).toBe(2);
    expect(both.stderr).toContain('--group and --patient-level cannot be used together');
    const dry = await backfill(['--from-server', '--dry-run'], dir).done;
    expect(dry.status).toBe(2);
    expect(dry.stderr).toContain('--dry-run needs --output DIR');
    const since = await backfill(['--from-server', '--since', 'yesterday'], dir).done;
    expect(since.stderr).toContain('--since yesterday is not a FHIR instant');
    const noServer = await backfill(['--from-server'], dir, { FHIR_BASE_URL: '' }).done;
    expect(noServer.status).toBe(2);
    const orphan = await backfill(['--group', 'g'], dir).done;
    expect(orphan.stderr).toContain('--group needs --from-server');
  });
});
