/**
 * Reliability end to end, over real HTTP and PostgreSQL: notifications delivered twice and out of order, a gap in
 * Backport event numbers, HAPI-style notifications (empty POST, PUT and DELETE with payload). The FHIR server is the
 * sandbox on its own port, without Subscriptions: only the test notifies the adapter. Every end state is compared
 * with what `assess` gives for the same data.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Bundle, BundleEntry, Observation, Parameters, Resource } from '@medplum/fhirtypes';
import { afterEach, describe, expect, it } from 'vitest';
import type { FetchFn } from '../../src/fhir/client-factory.ts';
import type { RunningService } from '../../src/service/start-service.ts';
import {
  caseNames,
  changeCase,
  expectAssessed,
  expectedOutcome,
  expectNothingWritten,
  inParallel,
  loadCase,
  loadCases,
  reportVersionCounts,
  shuffled,
  storedResources,
  type TestCase,
} from './cases.ts';
import {
  dropSchema,
  medplumNotification,
  metricValue,
  notify,
  type SandboxServer,
  startAdapter,
  startSandboxServer,
  uniqueSchema,
  waitForQueueQuiet,
} from './harness.ts';

const FIXTURES = join(import.meta.dirname, '../fixtures/notifications');
const fixture = (name: string): { request: { body: Bundle } } =>
  JSON.parse(readFileSync(join(FIXTURES, `${name}.json`), 'utf8'));

interface Env {
  fhir: SandboxServer;
  adapter: RunningService;
  schema: string;
  /** FHIR requests the adapter made (method and URL), in order. */
  requests: { method: string; url: string }[];
}

let env: Env | undefined;

async function setUp(label: string): Promise<Env> {
  const fhir = await startSandboxServer();
  const schema = uniqueSchema(label);
  const requests: Env['requests'] = [];
  const recording: FetchFn = (url, init) => {
    requests.push({ method: init?.method ?? 'GET', url });
    return fetch(url, init);
  };
  const adapter = await startAdapter({ fhirBaseUrl: fhir.baseUrl, schema, fetch: recording });
  env = { fhir, adapter, schema, requests };
  return env;
}

afterEach(async () => {
  if (!env) return;
  const { adapter, fhir, schema } = env;
  env = undefined;
  await adapter.close();
  await fhir.close();
  await dropSchema(schema);
});

async function expectAccepted(res: Response): Promise<void> {
  expect(res.status, await res.clone().text()).toBe(200);
}

/** A Backport R4 event-notification (shape of the fixture) for one full resource, numbered `eventNumber`. */
function backportEvent(fhirBase: string, subscriptionId: string, eventNumber: number, resource: Resource): Bundle {
  const bundle = structuredClone(fixture('backport-r4-event-gap').request.body);
  const [statusEntry, resourceEntry] = bundle.entry as [BundleEntry<Parameters>, BundleEntry];
  const ref = `${fhirBase}/${resource.resourceType}/${resource.id}`;
  for (const p of statusEntry.resource?.parameter ?? []) {
    if (p.name === 'subscription') p.valueReference = { reference: `${fhirBase}/Subscription/${subscriptionId}` };
    if (p.name === 'events-since-subscription-start') p.valueString = String(eventNumber);
    if (p.name === 'notification-event') {
      p.part = [
        { name: 'event-number', valueString: String(eventNumber) },
        { name: 'timestamp', valueInstant: new Date().toISOString() },
        { name: 'focus', valueReference: { reference: ref } },
      ];
    }
  }
  statusEntry.request = { method: 'GET', url: `${fhirBase}/Subscription/${subscriptionId}/$status` };
  Object.assign(resourceEntry, {
    fullUrl: ref,
    resource,
    request: { method: 'PUT', url: `${resource.resourceType}/${resource.id}` },
  });
  return bundle;
}

/** responder's last scan, one target lesion grown from 22 to 60 mm: unconfirmed progression at 2026-06-29. */
const growLesion = (r: Resource): Resource => {
  if (r.resourceType === 'Observation' && r.id?.endsWith('-L1-t3')) {
    const quantity = (r as Observation).component?.[0]?.valueQuantity;
    if (quantity) quantity.value = 60;
  }
  return r;
};

describe('reliability: delivery', () => {
  it('every notification twice, shuffled: one report per timepoint and the right Flag, nothing twice', async () => {
    const { fhir, adapter } = await setUp('dup');
    const cases = caseNames().map((name) => loadCase(name));
    await loadCases(fhir.baseUrl, cases);
    const notifications = [];
    for (const tc of cases) {
      for (const resource of await storedResources(fhir.repo, tc)) notifications.push(medplumNotification(resource));
    }
    // Stale bodies too: responder's lesion changes after its notification was made; both versions' notifications
    // are shuffled in, so the old body may arrive after the new one. The adapter must go by the server's data.
    const responder = cases.find((tc) => tc.name === 'responder') as TestCase;
    const grown = changeCase(responder, growLesion);
    const lesion = grown.resources.find((r) => r.id === 'responder-L1-t3') as Observation;
    await fhir.repo.updateResource(lesion);
    notifications.push(medplumNotification(await fhir.repo.readResource('Observation', 'responder-L1-t3'), 'update'));
    const all = shuffled([...notifications, ...notifications], 20260309);
    expect(all.length).toBeGreaterThan(400);

    await inParallel(all, 8, async (n) => expectAccepted(await notify(adapter.url, n)));
    await waitForQueueQuiet(adapter.queue);

    for (const tc of cases) expectAssessed(fhir.repo, tc === responder ? grown : tc);
    expect(expectedOutcome(grown)).not.toEqual(expectedOutcome(responder));
    // One Provenance per patient: however often a patient was assessed, the same decision is recorded once.
    expect(fhir.repo.listCurrent('Provenance')).toHaveLength(cases.length);
    const stats = await adapter.queue.stats();
    expect(stats).toMatchObject({ queued: 0, active: 0, failed: 0, deadLettered: 0 });

    // The whole delivery again, reshuffled: nothing new is written (no report gets a second version).
    const versions = await Promise.all(cases.map((tc) => reportVersionCounts(fhir.repo, tc.patientId)));
    await inParallel(shuffled(all, 7), 8, async (n) => expectAccepted(await notify(adapter.url, n)));
    await waitForQueueQuiet(adapter.queue);
    expect(await Promise.all(cases.map((tc) => reportVersionCounts(fhir.repo, tc.patientId)))).toEqual(versions);
    expect(fhir.repo.listCurrent('Provenance')).toHaveLength(cases.length);
    for (const tc of cases) expectAssessed(fhir.repo, tc === responder ? grown : tc);
  });

  // The Provenance digest covers what was decided (reports, and which Flag should be active), not which entries this
  // transaction happened to carry: a reassessment that finds the Flag already as wanted records no second Provenance.
  it('a second notification of unchanged data records no second Provenance', async () => {
    const { fhir, adapter } = await setUp('prov');
    const tc = loadCase('pseudoprogression');
    await loadCases(fhir.baseUrl, [tc]);
    const patient = await fhir.repo.readResource('Patient', tc.patientId);
    for (let i = 0; i < 2; i++) {
      await expectAccepted(await notify(adapter.url, medplumNotification(patient)));
      await waitForQueueQuiet(adapter.queue);
    }
    expectAssessed(fhir.repo, tc);
    expect(fhir.repo.listCurrent('Provenance')).toHaveLength(1);
  });

  it('a gap in Backport event numbers runs a catch-up that finds and assesses the changed patients', async () => {
    const { fhir, adapter, requests } = await setUp('gap');
    const [first, second, third, fourth] = ['responder', 'pseudoprogression', 'hyperprogression', 'continued-pr'].map(
      (name) => loadCase(name),
    ) as [TestCase, TestCase, TestCase, TestCase];
    await loadCases(fhir.baseUrl, [first, second, third, fourth]);
    const patientOf = (tc: TestCase) => fhir.repo.readResource('Patient', tc.patientId);
    const sub = 'irecist-inputs';

    // Event 1: the first this adapter sees of the Subscription; only its focus is assessed.
    await expectAccepted(
      await notify(adapter.url, {
        headers: { 'content-type': 'application/fhir+json' },
        body: backportEvent(fhir.baseUrl, sub, 1, await patientOf(first)),
      }),
    );
    await waitForQueueQuiet(adapter.queue);
    expectAssessed(fhir.repo, first);
    for (const tc of [second, third, fourth]) expectNothingWritten(fhir.repo, tc.patientId);
    expect(requests.some((r) => r.url.includes('_lastUpdated'))).toBe(false);

    // Event 5 after 1: events 2-4 were lost. The catch-up searches _lastUpdated and finds every changed patient.
    await expectAccepted(
      await notify(adapter.url, {
        headers: { 'content-type': 'application/fhir+json' },
        body: backportEvent(fhir.baseUrl, sub, 5, await patientOf(second)),
      }),
    );
    await waitForQueueQuiet(adapter.queue);
    for (const tc of [first, second, third, fourth]) expectAssessed(fhir.repo, tc);
    expect(requests.some((r) => /[?&]_lastUpdated=gt/.test(decodeURIComponent(r.url)))).toBe(true);
    const metrics = await (await fetch(`${adapter.url}/metrics`)).text();
    expect(metricValue(metrics, 'irecist_jobs_total', { kind: 'catch-up', outcome: 'done' })).toBe(1);
    expect(await adapter.state.get(`event-number:${sub}`)).toBe(5);
    expect(await adapter.state.get('poll-checkpoint')).toBeTruthy();

    // A later change, then another gap (event 9 after 6): the catch-up picks it up from the checkpoint.
    const grown = changeCase(first, growLesion);
    await fhir.repo.updateResource(grown.resources.find((r) => r.id === 'responder-L1-t3') as Observation);
    await expectAccepted(
      await notify(adapter.url, {
        headers: { 'content-type': 'application/fhir+json' },
        body: backportEvent(fhir.baseUrl, sub, 6, await patientOf(third)),
      }),
    );
    await expectAccepted(
      await notify(adapter.url, {
        headers: { 'content-type': 'application/fhir+json' },
        body: backportEvent(fhir.baseUrl, sub, 9, await patientOf(third)),
      }),
    );
    await waitForQueueQuiet(adapter.queue);
    expectAssessed(fhir.repo, grown);
    for (const tc of [second, third, fourth]) expectAssessed(fhir.repo, tc);
    // A duplicate (the event number last seen, again) queues nothing.
    const before = requests.length;
    await expectAccepted(
      await notify(adapter.url, {
        headers: { 'content-type': 'application/fhir+json' },
        body: backportEvent(fhir.baseUrl, sub, 9, await patientOf(fourth)),
      }),
    );
    await waitForQueueQuiet(adapter.queue);
    expect(requests.length).toBe(before);
  });

  it('HAPI style: an empty POST catches up; PUT and DELETE /notifications/Observation/<id> reassess', async () => {
    const { fhir, adapter, requests } = await setUp('hapi');
    const cases = ['responder', 'early-scan', 'new-lesion-confirmed'].map((name) => loadCase(name));
    await loadCases(fhir.baseUrl, cases);
    const responder = cases[0] as TestCase;

    // HAPI without payload: an empty POST, no content type.
    await expectAccepted(await notify(adapter.url, { rawBody: '' }));
    await waitForQueueQuiet(adapter.queue);
    for (const tc of cases) expectAssessed(fhir.repo, tc);

    // HAPI with payload: PUT {endpoint}/Observation/{id} with the changed resource.
    const grown = changeCase(responder, growLesion);
    await fhir.repo.updateResource(grown.resources.find((r) => r.id === 'responder-L1-t3') as Observation);
    const stored = await fhir.repo.readResource('Observation', 'responder-L1-t3');
    await expectAccepted(
      await notify(adapter.url, {
        method: 'PUT',
        path: '/notifications/Observation/responder-L1-t3',
        headers: { 'content-type': 'application/fhir+json; charset=utf-8' },
        body: stored,
      }),
    );
    await waitForQueueQuiet(adapter.queue);
    expect(expectedOutcome(grown)).not.toEqual(expectedOutcome(responder));
    expectAssessed(fhir.repo, grown);

    // HAPI delete: DELETE {endpoint}/Observation/{id}, no body. The worker finds the patient in the history.
    const removed = changeCase(grown, (r) => (r.id === 'responder-L1-t3' ? undefined : r));
    await fhir.repo.deleteResource('Observation', 'responder-L1-t3');
    const historyReads = requests.filter((r) => r.url.includes('/Observation/responder-L1-t3/_history')).length;
    await expectAccepted(
      await notify(adapter.url, { method: 'DELETE', path: '/notifications/Observation/responder-L1-t3', rawBody: '' }),
    );
    await waitForQueueQuiet(adapter.queue);
    expect(requests.filter((r) => r.url.includes('/Observation/responder-L1-t3/_history')).length).toBe(
      historyReads + 1,
    );
    expect(expectedOutcome(removed)).not.toEqual(expectedOutcome(grown));
    expectAssessed(fhir.repo, removed);
    for (const tc of cases.slice(1)) expectAssessed(fhir.repo, tc);
  });
});
