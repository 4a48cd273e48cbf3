/**
 * The sandbox's Bulk Data `$export` over HTTP (Bulk Data Access IG v2): kick-off, status polling, manifest, NDJSON
 * files, `_type`, `_since`, system / Patient / Group level, DELETE, expiry, and the refusals.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MAX_RUNNING_JOBS } from '../../src/sandbox/bulk-export.ts';
import type { Json, SandboxHarness } from './harness.ts';
import { startSandbox } from './harness.ts';

const ASYNC = { prefer: 'respond-async' };

/** A gate the sandbox awaits before writing a job's files: tests hold jobs in progress with it. */
function gate(): { wait: () => Promise<void>; open: () => void; held: boolean } {
  let release: () => void = () => undefined;
  let promise = Promise.resolve();
  const g = {
    held: false,
    wait: () => promise,
    open: () => {
      g.held = false;
      release();
    },
    hold: () => {
      g.held = true;
      promise = new Promise<void>((r) => {
        release = r;
      });
    },
  };
  return g as ReturnType<typeof gate> & { hold: () => void };
}

const jobs = gate() as ReturnType<typeof gate> & { hold: () => void };
let h: SandboxHarness;

beforeAll(async () => {
  h = await startSandbox({ bulkExport: { beforeJobRuns: () => jobs.wait(), retryAfterSeconds: 2 } });
  const put = (r: Json) => h.sandbox.repo.updateResource(r);
  await put({ resourceType: 'Medication', id: 'pembro', code: { text: 'pembrolizumab' } });
  await put({ resourceType: 'Medication', id: 'unused', code: { text: 'never given' } });
  await put({ resourceType: 'Practitioner', id: 'dr' });
  for (const id of ['p1', 'p2', 'p3']) {
    await put({ resourceType: 'Patient', id, gender: 'female' });
    await put({
      resourceType: 'Observation',
      id: `${id}-o1`,
      status: 'final',
      code: { text: 'x' },
      subject: { reference: `Patient/${id}` },
    });
    await put({
      resourceType: 'MedicationAdministration',
      id: `${id}-ma`,
      status: 'completed',
      medicationReference: { reference: 'Medication/pembro' },
      subject: { reference: `Patient/${id}` },
      effectiveDateTime: '2026-01-01',
    });
  }
  await put({
    resourceType: 'Group',
    id: 'oncology',
    type: 'person',
    actual: true,
    member: [{ entity: { reference: 'Patient/p1' } }, { entity: { reference: 'Patient/p2' }, inactive: true }],
  });
});
afterEach(() => jobs.open());
afterAll(async () => {
  await h?.close();
});

/** Kicks off, polls until complete (following Retry-After is the client's business: here at once), returns the manifest. */
async function exportAll(path: string, headers: Record<string, string> = ASYNC): Promise<Json> {
  const kickOff = await h.fhir('GET', path, undefined, headers);
  expect(kickOff.status).toBe(202);
  const statusUrl = kickOff.headers.get('content-location') as string;
  for (;;) {
    const status = await h.fhir('GET', statusUrl);
    if (status.status === 200) return { ...status.body, statusUrl, expires: status.headers.get('expires') };
    expect(status.status).toBe(202);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function download(manifest: Json): Promise<Json[]> {
  const lines: Json[] = [];
  for (const file of manifest.output) {
    const res = await fetch(file.url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/fhir+ndjson');
    const text = await res.text();
    const resources = text
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    expect(resources).toHaveLength(file.count);
    expect(resources.every((r) => r.resourceType === file.type)).toBe(true);
    lines.push(...resources);
  }
  return lines;
}

const refs = (resources: Json[]) => resources.map((r) => `${r.resourceType}/${r.id}`).sort();

describe('sandbox Bulk Data $export', () => {
  it('answers 202 with X-Progress and Retry-After while the files are written, then the manifest', async () => {
    jobs.hold();
    const kickOff = await h.fhir('GET', '$export?_type=Patient', undefined, ASYNC);
    expect(kickOff.status).toBe(202);
    const statusUrl = kickOff.headers.get('content-location') as string;
    expect(statusUrl.startsWith(`${h.baseUrl}/`)).toBe(true);
    const pending = await h.fhir('GET', statusUrl);
    expect(pending.status).toBe(202);
    expect(pending.headers.get('x-progress')).toBe('0% (0 of 3 resources written)');
    expect(pending.headers.get('retry-after')).toBe('2');
    jobs.open();
    const manifest = await exportAll('$export?_type=Patient');
    expect(manifest.request).toBe(`${h.baseUrl}/$export?_type=Patient`);
    expect(manifest.requiresAccessToken).toBe(false);
    expect(Date.parse(manifest.transactionTime)).not.toBeNaN();
    expect(Date.parse(manifest.expires)).toBeGreaterThan(Date.now());
    expect(manifest.output).toEqual([{ type: 'Patient', url: expect.stringMatching(/\.ndjson$/), count: 3 }]);
    expect(manifest.error).toEqual([]);
    expect(refs(await download(manifest))).toEqual(['Patient/p1', 'Patient/p2', 'Patient/p3']);
  });

  it('system level: every resource of the asked types, one file per type', async () => {
    const manifest = await exportAll('$export?_type=Medication,Practitioner');
    expect(refs(await download(manifest))).toEqual(['Medication/pembro', 'Medication/unused', 'Practitioner/dr']);
  });

  it('Patient level: what belongs to a patient, and the Medications they refer to (not the others)', async () => {
    const manifest = await exportAll('Patient/$export?_type=Patient,MedicationAdministration,Medication,Practitioner');
    const exported = refs(await download(manifest));
    expect(exported).toEqual([
      'Medication/pembro',
      'MedicationAdministration/p1-ma',
      'MedicationAdministration/p2-ma',
      'MedicationAdministration/p3-ma',
      'Patient/p1',
      'Patient/p2',
      'Patient/p3',
    ]);
  });

  it('Group level: the active members only (member.entity, inactive left out)', async () => {
    const manifest = await exportAll('Group/oncology/$export?_type=Patient,Observation');
    expect(refs(await download(manifest))).toEqual(['Observation/p1-o1', 'Patient/p1']);
  });

  it('_since: only what changed after it', async () => {
    const since = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 5));
    await h.sandbox.repo.updateResource({
      resourceType: 'Observation',
      id: 'p3-o1',
      status: 'amended',
      code: { text: 'x' },
      subject: { reference: 'Patient/p3' },
    } as Json);
    const manifest = await exportAll(`Patient/$export?_since=${encodeURIComponent(since)}`);
    expect(refs(await download(manifest))).toEqual(['Observation/p3-o1']);
    expect(manifest.transactionTime >= since).toBe(true);
  });

  it('takes a POST kick-off with a Parameters resource', async () => {
    const kickOff = await h.fhir(
      'POST',
      'Group/oncology/$export',
      {
        resourceType: 'Parameters',
        parameter: [
          { name: '_type', valueString: 'Patient' },
          { name: '_outputFormat', valueString: 'ndjson' },
        ],
      },
      ASYNC,
    );
    expect(kickOff.status).toBe(202);
    expect(kickOff.headers.get('content-location')).toContain('/bulk-export/');
  });

  it('splits a type over several files when it has more resources than a file holds', async () => {
    const small = await startSandbox({ bulkExport: { resourcesPerFile: 2 } });
    try {
      for (const id of ['a', 'b', 'c', 'd', 'e'])
        await small.sandbox.repo.updateResource({ resourceType: 'Patient', id } as Json);
      const kickOff = await small.fhir('GET', '$export', undefined, ASYNC);
      let status = await small.fhir('GET', kickOff.headers.get('content-location') as string);
      while (status.status === 202) status = await small.fhir('GET', kickOff.headers.get('content-location') as string);
      expect(status.body.output.map((o: Json) => o.count)).toEqual([2, 2, 1]);
    } finally {
      await small.close();
    }
  });

  it('DELETE cancels a job and removes its files; the status and the files are then gone', async () => {
    const manifest = await exportAll('$export?_type=Patient');
    const jobsBefore = h.sandbox.bulkExportJobs();
    const deleted = await h.fhir('DELETE', manifest.statusUrl);
    expect(deleted.status).toBe(202);
    expect(h.sandbox.bulkExportJobs()).toBe(jobsBefore - 1);
    expect((await h.fhir('GET', manifest.statusUrl)).status).toBe(404);
    expect((await fetch(manifest.output[0].url)).status).toBe(404);
    expect((await h.fhir('DELETE', manifest.statusUrl)).status).toBe(404);
  });

  it('removes the files of a completed job once they expire', async () => {
    const brief = await startSandbox({ bulkExport: { fileLifetimeMs: 50 } });
    try {
      await brief.sandbox.repo.updateResource({ resourceType: 'Patient', id: 'x' } as Json);
      const kickOff = await brief.fhir('GET', '$export', undefined, ASYNC);
      const statusUrl = kickOff.headers.get('content-location') as string;
      let status = await brief.fhir('GET', statusUrl);
      while (status.status === 202) status = await brief.fhir('GET', statusUrl);
      expect(status.status).toBe(200);
      while (brief.sandbox.bulkExportJobs() > 0) await new Promise((r) => setTimeout(r, 20));
      expect((await brief.fhir('GET', statusUrl)).status).toBe(404);
    } finally {
      await brief.close();
    }
  });

  it('removes every job and file when the sandbox closes', async () => {
    const closing = await startSandbox();
    try {
      await closing.sandbox.repo.updateResource({ resourceType: 'Patient', id: 'x' } as Json);
      const kickOff = await closing.fhir('GET', '$export', undefined, ASYNC);
      const statusUrl = kickOff.headers.get('content-location') as string;
      let status = await closing.fhir('GET', statusUrl);
      while (status.status === 202) status = await closing.fhir('GET', statusUrl);
      expect(closing.sandbox.bulkExportJobs()).toBe(1);
      await closing.sandbox.close();
      expect(closing.sandbox.bulkExportJobs()).toBe(0);
      expect((await fetch(status.body.output[0].url)).status).toBe(404);
    } finally {
      await closing.close();
    }
  });

  it('asks for the access token on file downloads when configured so', async () => {
    const guarded = await startSandbox({ bulkExport: { requiresAccessToken: true } });
    try {
      await guarded.sandbox.repo.updateResource({ resourceType: 'Patient', id: 'x' } as Json);
      const kickOff = await guarded.fhir('GET', '$export', undefined, ASYNC);
      const statusUrl = kickOff.headers.get('content-location') as string;
      let status = await guarded.fhir('GET', statusUrl);
      while (status.status === 202) status = await guarded.fhir('GET', statusUrl);
      expect(status.body.requiresAccessToken).toBe(true);
      expect((await fetch(status.body.output[0].url)).status).toBe(401);
    } finally {
      await guarded.close();
    }
  });

  it('answers 429 with Retry-After when too many jobs are being written', async () => {
    jobs.hold();
    for (let i = 0; i < MAX_RUNNING_JOBS; i++) {
      expect((await h.fhir('GET', '$export?_type=Patient', undefined, ASYNC)).status).toBe(202);
    }
    const refused = await h.fhir('GET', '$export?_type=Patient', undefined, ASYNC);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('10');
    expect(refused.body.resourceType).toBe('OperationOutcome');
  });

  it.each([
    ['no Prefer: respond-async', '$export', {}, 400, 'Bulk Data export requires the header Prefer: respond-async'],
    ['an unknown _type', '$export?_type=Patient,Nonsense', ASYNC, 400, 'Unknown resource type in _type'],
    ['a _since that is not an instant', '$export?_since=2026-01-01', ASYNC, 400, '_since must be a FHIR instant'],
    [
      'an output format other than NDJSON',
      '$export?_outputFormat=text/csv',
      ASYNC,
      400,
      'Only NDJSON output is supported',
    ],
    [
      'an unsupported parameter',
      '$export?_typeFilter=Patient%3Factive%3Dtrue',
      ASYNC,
      400,
      'Bulk Data export parameter not supported',
    ],
    ['a Group that does not exist', 'Group/nobody/$export', ASYNC, 404, 'Group not found'],
    ['an invalid Group id', 'Group/a%20b/$export', ASYNC, 400, 'Invalid Group id'],
  ])('refuses %s with an OperationOutcome', async (_what, path, headers, status, text) => {
    const res = await h.fhir('GET', path, undefined, headers as Record<string, string>);
    expect(res.status).toBe(status);
    expect(res.body.issue[0].details.text).toBe(text);
  });

  it('ignores an unsupported parameter under Prefer: handling=lenient', async () => {
    const res = await h.fhir('GET', '$export?_type=Patient&_typeFilter=x', undefined, {
      prefer: 'respond-async, handling=lenient',
    });
    expect(res.status).toBe(202);
  });

  it('answers 404 for a status URL that never existed', async () => {
    const res = await h.fhir('GET', 'bulk-export/00000000-0000-0000-0000-000000000000');
    expect(res.status).toBe(404);
    expect(res.body.issue[0].details.text).toBe('Export job not found (never started, cancelled or expired)');
  });

  it('lists $export in the CapabilityStatement', async () => {
    const cs = (await h.fhir('GET', 'metadata')).body;
    expect(cs.instantiates).toContain('http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data');
    expect(cs.rest[0].operation).toEqual([
      { name: 'export', definition: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export' },
    ]);
    const group = cs.rest[0].resource.find((r: Json) => r.type === 'Group');
    expect(group.operation).toEqual([
      { name: 'export', definition: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export' },
    ]);
  });
});
