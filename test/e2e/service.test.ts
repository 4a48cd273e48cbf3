/**
 * The whole service end to end, over real HTTP: the sandbox FHIR server notifies the adapter (Medplum style,
 * signed), the adapter queues in PostgreSQL (or PGlite), assesses and writes reports and Flags back.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import type { Bundle, DiagnosticReport, Flag } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IRECIST_SYSTEM } from '../../src/codes.ts';
import type { RunningService } from '../../src/service/start-service.ts';
import { fhir, metricValue, resourcesOf, startTestService, waitForQuiet } from './harness.ts';

const SAMPLES = join(import.meta.dirname, '../../samples');
const cases = readdirSync(join(SAMPLES, 'cases'))
  .filter((f) => f.endsWith('.expected.json'))
  .map((f) => f.replace('.expected.json', ''))
  .sort();

interface Expected {
  patient: string;
  timepoints: [string, string][];
  status: string;
  activeFlag: string | null;
}

const codesOf = (concepts: { coding?: { system?: string; code?: string }[] }[] | undefined) =>
  (concepts ?? [])
    .flatMap((c) => c.coding ?? [])
    .filter((c) => c.system === IRECIST_SYSTEM)
    .map((c) => c.code);

async function postCase(service: RunningService, name: string): Promise<void> {
  const tx = readFileSync(join(SAMPLES, 'transactions', `${name}.transaction.json`), 'utf8');
  const res = await fetch(`${service.url}/fhir/R4`, {
    method: 'POST',
    headers: { 'content-type': 'application/fhir+json' },
    body: tx,
  });
  expect(res.status).toBe(200);
}

/** POSTs headers announcing a body of `bytes` and sends none of it; resolves to the status the server answers. */
function statusOfAnnouncedBody(url: string, headers: Record<string, string>, bytes: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { ...headers, 'content-length': String(bytes) } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
      req.destroy();
    });
    req.on('error', reject);
    req.flushHeaders();
  });
}

async function reportsOf(service: RunningService, patientId: string): Promise<DiagnosticReport[]> {
  const { body } = await fhir<Bundle>(service, `DiagnosticReport?subject=Patient/${patientId}&_count=100`);
  return resourcesOf<DiagnosticReport>(body).sort((a, b) =>
    String(a.effectiveDateTime).localeCompare(String(b.effectiveDateTime)),
  );
}

async function flagsOf(service: RunningService, patientId: string): Promise<Flag[]> {
  const { body } = await fhir<Bundle>(service, `Flag?subject=Patient/${patientId}&_count=100`);
  return resourcesOf<Flag>(body);
}

describe.each(['postgres', 'pglite'] as const)('service end to end on %s', (database) => {
  let service: RunningService;
  beforeAll(async () => {
    service = await startTestService({ database });
  });
  afterAll(async () => {
    await service?.close();
  });

  it('is healthy and ready', async () => {
    expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${service.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready' });
  });

  it.each(database === 'postgres' ? cases : cases.slice(0, 3))(
    '%s: a posted case ends as the expected reports and Flag',
    async (name) => {
      const expected = JSON.parse(readFileSync(join(SAMPLES, 'cases', `${name}.expected.json`), 'utf8')) as Expected;
      const patientId = expected.patient.replace('Patient/', '');
      await postCase(service, name);
      await waitForQuiet(service);
      const reports = await reportsOf(service, patientId);
      expect(reports.map((r) => [String(r.effectiveDateTime).slice(0, 10), codesOf(r.conclusionCode)[0]])).toEqual(
        expected.timepoints,
      );
      expect(codesOf(reports.at(-1)?.conclusionCode)[1]).toBe(expected.status);
      // The latest report carries its chart, drawn on the chart thread (CHART_THREAD, on by default).
      expect(reports.at(-1)?.presentedForm?.map((a) => a.contentType)).toContain('image/svg+xml');
      const active = (await flagsOf(service, patientId)).filter((f) => f.status === 'active');
      expect(active.map((f) => codesOf([f.code])[0])).toEqual(expected.activeFlag ? [expected.activeFlag] : []);

      // The same data again changes nothing: no new report versions, no second Flag.
      const versions = reports.map((r) => r.meta?.versionId);
      await postCase(service, name);
      await waitForQuiet(service);
      const again = await reportsOf(service, patientId);
      expect(again.map((r) => r.meta?.versionId)).toEqual(versions);
      expect((await flagsOf(service, patientId)).filter((f) => f.status === 'active')).toHaveLength(active.length);
    },
  );

  it('refuses unauthenticated, malformed and oversized notifications and stays healthy', async () => {
    const unauth = await fetch(`${service.url}/notifications`, {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json' },
      body: '{}',
    });
    expect(unauth.status).toBe(401);
    expect(((await unauth.json()) as { resourceType: string }).resourceType).toBe('OperationOutcome');
    const auth = { authorization: `Bearer ${service.config.webhook.secret}`, 'content-type': 'application/fhir+json' };
    const malformed = await fetch(`${service.url}/notifications`, {
      method: 'POST',
      headers: auth,
      body: '{"resourceType": "Obs',
    });
    expect(malformed.status).toBe(400);
    // A body announced larger than the limit is refused before it is read: the answer comes while the client has
    // sent nothing of it (so the check cannot be skipped by a connection the server closes mid-upload).
    expect(await statusOfAnnouncedBody(`${service.url}/notifications`, auth, 30 * 1024 * 1024)).toBe(413);
    const before = await service.queue.stats();
    expect(before.queued).toBe(0);
    expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${service.url}/readyz`)).status).toBe(200);
  });

  it('does not reactivate a Flag a clinician set inactive', async () => {
    await postCase(service, 'confirmed-progression');
    await waitForQuiet(service);
    const [flag] = (await flagsOf(service, 'confirmed-progression')).filter((f) => f.status === 'active');
    expect(flag).toBeDefined();
    const put = await fhir<Flag>(service, `Flag/${flag!.id}`, {
      method: 'PUT',
      body: JSON.stringify({ ...flag, status: 'inactive' }),
    });
    expect(put.status).toBe(200);
    // Reposting identical data notifies nothing, so tell the adapter directly that the patient's data changed.
    const done = async () =>
      metricValue(await (await fetch(`${service.url}/metrics`)).text(), 'irecist_jobs_total', {
        kind: 'assess-patient',
        outcome: 'done',
      }) ?? 0;
    const before = await done();
    const { body: observations } = await fhir<Bundle>(
      service,
      'Observation?subject=Patient/confirmed-progression&_count=1',
    );
    const res = await fetch(`${service.url}/notifications`, {
      method: 'POST',
      headers: { authorization: `Bearer ${service.config.webhook.secret}`, 'content-type': 'application/fhir+json' },
      body: JSON.stringify(resourcesOf(observations)[0]),
    });
    expect(res.status).toBe(200);
    await waitForQuiet(service);
    expect(await done()).toBe(before + 1);
    const flags = await flagsOf(service, 'confirmed-progression');
    expect(flags.map((f) => f.status)).toEqual(['inactive']);
  });

  it('folds a stream of notifications for one patient into at most two assessments', async () => {
    await postCase(service, 'responder');
    await waitForQuiet(service);
    const done = async () =>
      metricValue(await (await fetch(`${service.url}/metrics`)).text(), 'irecist_jobs_total', {
        kind: 'assess-patient',
        outcome: 'done',
      }) ?? 0;
    const before = await done();
    const { body: observation } = await fhir<Bundle>(service, 'Observation?subject=Patient/responder&_count=1');
    const body = JSON.stringify(resourcesOf(observation)[0]);
    const headers = {
      authorization: `Bearer ${service.config.webhook.secret}`,
      'content-type': 'application/fhir+json',
    };
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`${service.url}/notifications`, { method: 'POST', headers, body });
      expect(res.status).toBe(200);
      await new Promise((r) => setTimeout(r, 25));
    }
    await waitForQuiet(service);
    const assessed = (await done()) - before;
    expect(assessed).toBeGreaterThanOrEqual(1);
    expect(assessed).toBeLessThanOrEqual(2);
  });

  it('answers unknown paths with a FHIR OperationOutcome', async () => {
    const res = await fetch(`${service.url}/nope`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { resourceType: string }).resourceType).toBe('OperationOutcome');
  });

  it('exposes Prometheus metrics', async () => {
    const text = await (await fetch(`${service.url}/metrics`)).text();
    expect(text).toContain('irecist_queue_jobs');
    // The sandbox notified full resources (Medplum style); the bad requests above were counted as rejected.
    expect(
      metricValue(text, 'irecist_notifications_total', { shape: 'resource', outcome: 'accepted' }),
    ).toBeGreaterThan(0);
    expect(
      metricValue(text, 'irecist_notifications_total', { shape: 'unknown', outcome: 'rejected' }),
    ).toBeGreaterThanOrEqual(2);
    expect(
      metricValue(text, 'irecist_fhir_requests_total', { operation: 'batch-or-transaction', status: '2xx' }),
    ).toBeGreaterThan(0);
  });
});
