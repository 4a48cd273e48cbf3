/**
 * Real servers' delivery quirks against the real service over HTTP (startAdapter on PostgreSQL, the sandbox FHIR server
 * on its own port), issue 12 items 6-9, with the shapes their code sends:
 * - HAPI sends topic-based notifications and `transaction` deliveries through its client's transaction call and parses
 *   the reply as a Bundle (HAPI-1814): they get a Bundle, not an OperationOutcome.
 * - Medplum before PR 6557 signs a delete over the deleted resource while sending `{}` (medplum issues 4198, 4906):
 *   accepted unverified as one resolve job, nothing else; any other unsigned shape stays 401.
 * - `X-Hub-Signature: sha256=<hex>` (WebSub, as athenahealth signs), `application/json+fhir` accepted;
 *   `application/fhir+xml` 415 naming what is accepted.
 * - Deletes and id-only notifications for resources the server does not have (404/410): dropped with a metric, never
 *   a dead letter.
 */
import { createHmac } from 'node:crypto';
import type { Observation, Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UNVERIFIED_DELETES_PER_WINDOW } from '../../src/intake/legacy-medplum-delete.ts';
import type { RunningService } from '../../src/service/start-service.ts';
import {
  dropSchema,
  metricValue,
  type SandboxServer,
  startAdapter,
  startSandboxServer,
  uniqueSchema,
  WEBHOOK_SECRET,
  waitForQueueQuiet,
} from '../e2e/harness.ts';
import { fixtureBody, loadFixtures } from '../intake/fixture-loader.ts';
import { type IntakeCalls, recordIntakeCalls } from './intake-calls.ts';

let fhir: SandboxServer;
let adapter: RunningService;
let schema: string;
let intake: IntakeCalls;

beforeAll(async () => {
  fhir = await startSandboxServer();
  schema = uniqueSchema('quirks');
  adapter = await startAdapter({ fhirBaseUrl: fhir.baseUrl, schema });
  intake = recordIntakeCalls(adapter.queue);
});

afterAll(async () => {
  await adapter?.close();
  await fhir?.close();
  if (schema) await dropSchema(schema);
});

const sign = (body: string): string => createHmac('sha256', WEBHOOK_SECRET).update(body).digest('hex');
const BEARER = { authorization: `Bearer ${WEBHOOK_SECRET}` };

async function deliver(method: string, path: string, body: string | undefined, headers: Record<string, string>) {
  const before = intake.calls.length;
  const res = await fetch(`${adapter.url}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
  const json = (await res.json()) as Record<string, unknown> & { issue?: { details?: { text?: string } }[] };
  return { status: res.status, json, queued: intake.calls.slice(before) };
}

const fixture = (name: string) => {
  const f = loadFixtures().find((x) => x.name === name);
  if (!f) throw new Error(`no fixture ${name}`);
  return f;
};

describe('HAPI topic-based and transaction deliveries get a Bundle reply (HAPI-1814)', () => {
  it.each([
    ['backport-r4-full-resource', 'batch-response'],
    ['r4b-full-resource', 'batch-response'],
    ['r5-id-only', 'batch-response'],
    ['transaction', 'transaction-response'],
  ])('%s -> 200 %s Bundle, jobs queued', async (name, type) => {
    const f = fixture(name);
    const answer = await deliver('POST', f.request.path, fixtureBody(f).toString('utf8'), {
      ...f.request.headers,
      ...BEARER,
    });
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({ resourceType: 'Bundle', type, entry: [{ response: { status: '200 OK' } }] });
    expect(answer.queued.flat().length).toBeGreaterThan(0);
  });

  it('a Medplum resource delivery still gets its OperationOutcome', async () => {
    const body = JSON.stringify({ resourceType: 'Patient', id: 'quirk-p1' });
    const answer = await deliver('POST', '/notifications', body, {
      'content-type': 'application/fhir+json',
      'x-signature': sign(body),
    });
    expect(answer.status).toBe(200);
    expect(answer.json.resourceType).toBe('OperationOutcome');
  });
});

describe('Medplum before PR 6557: deletes signed over the deleted resource, sent as {}', () => {
  it('accepted as exactly one resolve job of the named resource; the worker reads the patient from the server', async () => {
    const patient = await fhir.repo.createResource<Patient>({ resourceType: 'Patient' });
    const observation = await fhir.repo.createResource<Observation>({
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'lesion' },
      subject: { reference: `Patient/${patient.id}` },
    });
    await fhir.repo.deleteResource('Observation', observation.id);
    const answer = await deliver('POST', '/notifications', '{}', {
      'content-type': 'application/fhir+json',
      'x-medplum-subscription': 'sub-legacy',
      'x-medplum-interaction': 'delete',
      'x-medplum-deleted-resource': `Observation/${observation.id}`,
      // What those releases sign: the deleted resource's JSON, not the bytes sent.
      'x-signature': sign(JSON.stringify(observation)),
    });
    expect(answer.status).toBe(200);
    expect(answer.queued).toEqual([
      [{ kind: 'resolve-resource', resourceType: 'Observation', id: observation.id, deleted: true }],
    ]);
    await waitForQueueQuiet(adapter.queue);
    expect(await adapter.queue.listDeadLetters()).toEqual([]);
  });

  it('unsigned deletes are capped per window: past the cap 429 (the server retries), nothing queued', async () => {
    const send = (i: number) =>
      deliver('POST', '/notifications', '{}', {
        'content-type': 'application/fhir+json',
        'x-medplum-interaction': 'delete',
        'x-medplum-deleted-resource': `Observation/capped-${i}`,
        'x-signature': 'b'.repeat(64),
      });
    const answers = [];
    for (let i = 0; i < UNVERIFIED_DELETES_PER_WINDOW + 5; i++) answers.push(await send(i));
    const refused = answers.filter((a) => a.status === 429);
    expect(refused.length).toBeGreaterThanOrEqual(5);
    for (const a of refused) expect(a.queued).toEqual([]);
    expect(answers.filter((a) => a.status === 200).length).toBeLessThanOrEqual(UNVERIFIED_DELETES_PER_WINDOW);
  });

  it.each([
    ['a body other than {}', '{"resourceType":"Patient","id":"x"}', { 'x-medplum-interaction': 'delete' }],
    ['not a delete', '{}', { 'x-medplum-interaction': 'update' }],
    ['no deleted-resource header', '{}', { 'x-medplum-interaction': 'delete', 'x-medplum-deleted-resource': '' }],
    ['a signature that is not 64 hex', '{}', { 'x-medplum-interaction': 'delete', 'x-signature': 'abc' }],
  ])('%s, signature not matching -> 401, nothing queued', async (_label, body, extra) => {
    const answer = await deliver('POST', '/notifications', body, {
      'content-type': 'application/fhir+json',
      'x-medplum-deleted-resource': 'Observation/o-1',
      'x-signature': 'a'.repeat(64),
      ...extra,
    });
    expect(answer.status).toBe(401);
    expect(answer.queued).toEqual([]);
  });
});

describe('WebSub signatures and media types', () => {
  const body = JSON.stringify(fixture('backport-r4-id-only').request.body);

  it('X-Hub-Signature: sha256=<hex> (athenahealth) is accepted', async () => {
    const answer = await deliver('POST', '/notifications', body, {
      'content-type': 'application/fhir+json',
      'x-hub-signature': `sha256=${sign(body)}`,
    });
    expect(answer.status).toBe(200);
    expect(answer.queued.length).toBe(1);
  });

  it.each([
    ['a wrong digest', `sha256=${'0'.repeat(64)}`],
    ['another algorithm', `sha1=${createHmac('sha1', WEBHOOK_SECRET).update(body).digest('hex')}`],
  ])('X-Hub-Signature with %s -> 401', async (_label, value) => {
    const answer = await deliver('POST', '/notifications', body, {
      'content-type': 'application/fhir+json',
      'x-hub-signature': value,
    });
    expect(answer.status).toBe(401);
    expect(answer.queued).toEqual([]);
  });

  it('application/json+fhir (the older FHIR media type) is accepted', async () => {
    const patient = JSON.stringify({ resourceType: 'Patient', id: 'quirk-p2' });
    const answer = await deliver('POST', '/notifications', patient, {
      'content-type': 'application/json+fhir; charset=UTF-8',
      ...BEARER,
    });
    expect(answer.status).toBe(200);
    expect(answer.queued).toEqual([[{ kind: 'assess-patient', patientId: 'quirk-p2' }]]);
  });

  it('application/fhir+xml -> 415 naming what is accepted', async () => {
    const answer = await deliver('POST', '/notifications', '<Patient xmlns="http://hl7.org/fhir"/>', {
      'content-type': 'application/fhir+xml',
      ...BEARER,
    });
    expect(answer.status).toBe(415);
    const text = answer.json.issue?.[0]?.details?.text ?? '';
    for (const type of ['application/fhir+json', 'application/json+fhir', 'application/json'])
      expect(text).toContain(type);
    expect(answer.queued).toEqual([]);
  });
});

describe('deletes and id-only notifications of resources the server does not have', () => {
  it('a delete that names its patient assesses that patient, even one the server no longer has', async () => {
    const body = JSON.stringify({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          fullUrl: 'https://fhir.example.org/fhir/Observation/gone-obs-1',
          resource: {
            resourceType: 'Observation',
            id: 'gone-obs-1',
            status: 'final',
            code: { text: 'lesion' },
            subject: { reference: 'Patient/gone-patient-1' },
          },
          request: { method: 'DELETE', url: 'Observation/gone-obs-1' },
        },
      ],
    });
    const answer = await deliver('POST', '/notifications', body, {
      'content-type': 'application/fhir+json',
      ...BEARER,
    });
    expect(answer.status).toBe(200);
    expect(answer.queued).toEqual([[{ kind: 'assess-patient', patientId: 'gone-patient-1' }]]);
    await waitForQueueQuiet(adapter.queue);
    expect(await adapter.queue.listDeadLetters()).toEqual([]);
  });

  it('404/410: dropped with a metric, no dead letter', async () => {
    const metrics = async () =>
      metricValue(await (await fetch(`${adapter.url}/metrics`)).text(), 'irecist_jobs_total', {
        kind: 'resolve-resource',
        outcome: 'dropped',
      }) ?? 0;
    const before = await metrics();
    const hapiDelete = await deliver('DELETE', '/notifications/Observation/never-there', undefined, BEARER);
    expect(hapiDelete.status).toBe(200);
    const idOnly = await deliver('PUT', '/notifications/ImagingStudy/also-never-there', undefined, BEARER);
    expect(idOnly.status).toBe(200);
    expect([...hapiDelete.queued, ...idOnly.queued].flat()).toEqual([
      { kind: 'resolve-resource', resourceType: 'Observation', id: 'never-there', deleted: true },
      { kind: 'resolve-resource', resourceType: 'ImagingStudy', id: 'also-never-there', deleted: false },
    ]);
    await waitForQueueQuiet(adapter.queue);
    expect(await adapter.queue.listDeadLetters({ kind: 'resolve-resource' })).toEqual([]);
    expect((await metrics()) - before).toBe(2);
  });
});
