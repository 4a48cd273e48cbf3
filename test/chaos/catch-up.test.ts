/**
 * Catch-up after lost notifications, end to end over real HTTP and PostgreSQL, against the sandbox FHIR server:
 * - a Subscription the server turned `off`/`error` (as servers do after failed deliveries): the adapter's watcher sets
 *   it delivering again and a catch-up search assesses every patient changed while it was off;
 * - notifications lost on the way (the server got a 200, the adapter never saw them): the poller finds the changes;
 * - gaps in Backport event numbers beyond the single gap of test/e2e/reliability-delivery.test.ts: several patients
 *   changed during a gap, a gap across a restart of the adapter, numbers going backwards after the server restarted
 *   counting.
 * Each ends with every patient as `assess` gives, nothing written twice. Seeded (CHAOS_SEED overrides).
 */
import { mkdtempSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bundle, Observation, Resource, Subscription } from '@medplum/fhirtypes';
import { afterEach, describe, expect, it } from 'vitest';
import { SUBSCRIPTION_TOPIC } from '../../src/codes.ts';
import { loadConfig } from '../../src/config.ts';
import type { FetchFn } from '../../src/fhir/client-factory.ts';
import { type RunningService, startService } from '../../src/service/start-service.ts';
import {
  caseTransaction,
  changeCase,
  expectAssessed,
  expectedOutcome,
  loadCase,
  loadCases,
  serverOutcome,
  shuffled,
  type TestCase,
} from '../e2e/cases.ts';
import {
  dropSchema,
  FAST_QUEUE,
  metricValue,
  notify,
  POSTGRES_URL,
  postBundle,
  type SandboxServer,
  startAdapter,
  startSandboxServer,
  uniqueSchema,
  WEBHOOK_SECRET,
  waitFor,
  waitForQueueQuiet,
} from '../e2e/harness.ts';

const SEED = Number(process.env.CHAOS_SEED ?? 20260521);
const because = (what: string): string => `${what} (CHAOS_SEED=${SEED})`;

/** Cases whose outcome changes when their last measured lesion triples (checked in `grown`). */
const CHANGEABLE = ['continued-pr', 'pseudoprogression', 'responder', 'units-and-corrections'];

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

async function sandbox(): Promise<SandboxServer> {
  const fhir = await startSandboxServer();
  cleanups.push(() => fhir.close());
  return fhir;
}

function schemaFor(label: string): string {
  const schema = uniqueSchema(label);
  cleanups.push(() => dropSchema(schema));
  return schema;
}

/** The case with its last measured lesion three times the size, and the changed Observation. */
function grown(tc: TestCase): { changed: TestCase; resources: Resource[] } {
  const measured = tc.resources
    .filter((r): r is Observation => r.resourceType === 'Observation')
    .filter((o) => o.component?.[0]?.valueQuantity?.value !== undefined)
    .sort((a, b) => String(a.effectiveDateTime).localeCompare(String(b.effectiveDateTime)));
  const lastId = measured.at(-1)?.id;
  const changed = changeCase(tc, (r) => {
    const quantity = r.id === lastId ? (r as Observation).component?.[0]?.valueQuantity : undefined;
    if (quantity) quantity.value = (quantity.value ?? 0) * 3;
    return r;
  });
  expect(expectedOutcome(changed), `${tc.name}: the change matters`).not.toEqual(expectedOutcome(tc));
  return { changed, resources: changed.resources.filter((r) => r.id === lastId) };
}

/** Writes resources to the FHIR server over HTTP in one transaction (so a server with Subscriptions notifies). */
async function write(fhir: SandboxServer, resources: Resource[]): Promise<void> {
  await postBundle(fhir.baseUrl, caseTransaction({ name: 'change', patientId: '', resources }));
}

async function waitUntilAssessed(fhir: SandboxServer, cases: readonly TestCase[], what: string): Promise<void> {
  const assessed = (tc: TestCase): boolean => {
    const { outcome, duplicates } = serverOutcome(fhir.repo, tc.patientId);
    return duplicates.length === 0 && JSON.stringify(outcome) === JSON.stringify(expectedOutcome(tc));
  };
  await waitFor(() => cases.every(assessed), because(what), 45_000).catch(() => undefined);
  for (const tc of cases) expectAssessed(fhir.repo, tc);
}

// ------------------------------------------------------------------------------------------------------------------
// Subscriptions from the sandbox to the adapter go through a relay of the test's own, which can lose deliveries:
// it answers the server 200 and forwards nothing, as a proxy or a network fault would.

interface Delivery {
  resourceType?: string;
  id?: string;
  versionId?: string;
  dropped: boolean;
}

interface Relay {
  url: string;
  /** The adapter's URL, once started. */
  target?: string;
  /** Which deliveries to lose; default none. */
  drop: (d: Delivery) => boolean;
  deliveries: Delivery[];
}

async function startRelay(): Promise<Relay> {
  const relay: Relay = { url: '', drop: () => false, deliveries: [] };
  const read = async (req: IncomingMessage): Promise<Buffer> => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  };
  const server: Server = createServer((req, res) => {
    void (async () => {
      const body = await read(req);
      let resource: Partial<Resource> = {};
      try {
        resource = JSON.parse(body.toString('utf8')) as Resource;
      } catch {
        // not JSON: forwarded as it is
      }
      const delivery: Delivery = {
        resourceType: resource.resourceType,
        id: resource.id,
        versionId: resource.meta?.versionId,
        dropped: false,
      };
      delivery.dropped = relay.drop(delivery) || !relay.target;
      relay.deliveries.push(delivery);
      if (delivery.dropped) {
        res.writeHead(200, { 'content-type': 'application/fhir+json' }).end('{"resourceType":"OperationOutcome"}');
        return;
      }
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) {
        if (typeof value === 'string' && (name === 'content-type' || name === 'authorization' || name.startsWith('x-')))
          headers[name] = value;
      }
      const forwarded = await fetch(`${relay.target}${req.url}`, { method: req.method, headers, body });
      res.writeHead(forwarded.status, { 'content-type': forwarded.headers.get('content-type') ?? 'text/plain' });
      res.end(Buffer.from(await forwarded.arrayBuffer()));
    })().catch(() => res.writeHead(502).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  relay.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  cleanups.push(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
  });
  return relay;
}

/**
 * The adapter with SUBSCRIBE=true against the sandbox, its Subscriptions pointing at the relay, watching them every
 * `watchIntervalMs`; POLL_INTERVAL_SECONDS as given (0 = no poller, the server supports rest-hook).
 */
async function startSubscribedAdapter(options: {
  fhir: SandboxServer;
  relay: Relay;
  schema: string;
  watchIntervalMs: number;
  pollIntervalSeconds?: number;
  fetch?: FetchFn;
}): Promise<RunningService> {
  const config = loadConfig({
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
    DATA_DIR: mkdtempSync(join(tmpdir(), 'irecist-chaos-')),
    DATABASE_URL: POSTGRES_URL,
    FHIR_BASE_URL: options.fhir.baseUrl,
    WEBHOOK_SECRET,
    PUBLIC_URL: options.relay.url,
    SUBSCRIBE: 'true',
    POLL_INTERVAL_SECONDS: String(options.pollIntervalSeconds ?? 0),
  });
  config.port = 0;
  const adapter = await startService(config, {
    host: '127.0.0.1',
    schema: options.schema,
    queue: FAST_QUEUE,
    watchIntervalMs: options.watchIntervalMs,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  cleanups.push(() => adapter.close());
  options.relay.target = adapter.url;
  return adapter;
}

const adapterSubscriptions = (fhir: SandboxServer): Subscription[] =>
  fhir.repo.listCurrent<Subscription>('Subscription').filter((s) => s.channel?.endpoint?.endsWith('/notifications'));

/** Waits for the sandbox to deliver (or lose) everything and the queue to be idle. */
async function settle(fhir: SandboxServer, adapter: RunningService): Promise<void> {
  await fhir.sandbox.waitForIdle();
  await waitForQueueQuiet(adapter.queue, 45_000);
}

// ------------------------------------------------------------------------------------------------------------------
// Backport (topic-based) notifications, sent by the test playing the server.

function backport(
  fhirBase: string,
  subscriptionId: string,
  type: 'event-notification' | 'handshake',
  eventNumber: number,
  focus?: Resource,
): Bundle {
  const subscription = `${fhirBase}/Subscription/${subscriptionId}`;
  const focusRef = focus ? `${fhirBase}/${focus.resourceType}/${focus.id}` : undefined;
  return {
    resourceType: 'Bundle',
    type: 'history',
    timestamp: new Date().toISOString(),
    entry: [
      {
        fullUrl: `urn:uuid:${crypto.randomUUID()}`,
        resource: {
          resourceType: 'Parameters',
          meta: {
            profile: [
              'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription-status-r4',
            ],
          },
          parameter: [
            { name: 'subscription', valueReference: { reference: subscription } },
            { name: 'topic', valueCanonical: SUBSCRIPTION_TOPIC },
            { name: 'status', valueCode: 'active' },
            { name: 'type', valueCode: type },
            { name: 'events-since-subscription-start', valueString: String(eventNumber) },
            ...(focusRef
              ? [
                  {
                    name: 'notification-event',
                    part: [
                      { name: 'event-number', valueString: String(eventNumber) },
                      { name: 'timestamp', valueInstant: new Date().toISOString() },
                      { name: 'focus', valueReference: { reference: focusRef } },
                    ],
                  },
                ]
              : []),
          ],
        },
        request: { method: 'GET', url: `${subscription}/$status` },
        response: { status: '200' },
      },
      ...(focus && focusRef
        ? [
            {
              fullUrl: focusRef,
              resource: focus,
              request: { method: 'PUT' as const, url: `${focus.resourceType}/${focus.id}` },
              response: { status: '200' },
            },
          ]
        : []),
    ],
  };
}

async function sendBackport(adapter: RunningService, bundle: Bundle): Promise<void> {
  const res = await notify(adapter.url, { headers: { 'content-type': 'application/fhir+json' }, body: bundle });
  expect(res.status, await res.clone().text()).toBe(200);
}

const patientOf = (fhir: SandboxServer, tc: TestCase): Promise<Resource> =>
  fhir.repo.readResource('Patient', tc.patientId);

/** Context reads the adapter made per patient (the batch whose first entry reads the Patient). */
function contextReads(requests: { url: string; body?: string }[], patientId: string): number {
  return requests.filter((r) => r.body?.includes(`"url":"Patient/${patientId}"`)).length;
}

async function catchUpsDone(adapter: RunningService): Promise<number> {
  const metrics = await (await fetch(`${adapter.url}/metrics`)).text();
  return metricValue(metrics, 'irecist_jobs_total', { kind: 'catch-up', outcome: 'done' }) ?? 0;
}

type Outcome = { issue?: { details?: { text?: string } }[] };
/** The text of the adapter's reply: a topic-based delivery is answered with a Bundle carrying the outcome (HAPI-1814). */
function replyText(json: unknown): string {
  const reply = json as Outcome & { entry?: { response?: { outcome?: Outcome } }[] };
  const outcome = reply.entry?.[0]?.response?.outcome ?? reply;
  return outcome.issue?.[0]?.details?.text ?? '';
}

describe('chaos: catch-up after lost notifications', () => {
  it('Subscriptions the server turned off/error are re-activated; a catch-up assesses every patient changed meanwhile', async () => {
    const fhir = await sandbox();
    const relay = await startRelay();
    // The watcher's reads of the Subscriptions can be held, so the test decides that its next look comes after the
    // changes (otherwise it could re-activate between two changes and the rest would simply be notified).
    let holdWatcher: Promise<void> | undefined;
    const gated: FetchFn = async (url, init) => {
      if (holdWatcher && new URL(url).pathname.includes('/Subscription')) await holdWatcher;
      return fetch(url, init);
    };
    const adapter = await startSubscribedAdapter({
      fhir,
      relay,
      schema: schemaFor('off'),
      watchIntervalMs: 500,
      fetch: gated,
    });
    const subscriptions = adapterSubscriptions(fhir);
    expect(subscriptions.length).toBeGreaterThan(0);
    expect(subscriptions.every((s) => s.status === 'active')).toBe(true);

    // Delivering normally: every patient is notified and assessed.
    const cases = CHANGEABLE.flatMap((name) => [loadCase(name, 'off1'), loadCase(name, 'off2')]);
    await loadCases(fhir.baseUrl, cases);
    await settle(fhir, adapter);
    for (const tc of cases) expectAssessed(fhir.repo, tc);
    const delivered = relay.deliveries.length;
    expect(delivered).toBeGreaterThan(cases.length);

    // The server gives up on the endpoint: half its Subscriptions `error`, half `off`. Meanwhile half the patients
    // change, and new patients arrive.
    let release = (): void => undefined;
    holdWatcher = new Promise((resolve) => {
      release = resolve;
    });
    for (const [i, sub] of subscriptions.entries()) {
      const status = i % 2 === 0 ? 'error' : 'off';
      await fhir.repo.updateResource({ ...sub, status, ...(status === 'error' ? { error: 'delivery failed' } : {}) });
    }
    const changing = shuffled(cases, SEED).slice(0, cases.length / 2);
    const changes = changing.map(grown);
    for (const change of changes) await write(fhir, change.resources);
    const newcomers = ['responder', 'pseudoprogression'].map((name) => loadCase(name, 'off3'));
    await loadCases(fhir.baseUrl, newcomers);
    await fhir.sandbox.waitForIdle();
    // Nothing reached the adapter while the Subscriptions were off (the server dropped those notifications).
    expect(relay.deliveries.length, because('deliveries while off')).toBe(delivered);
    for (const { changed } of changes)
      expect(serverOutcome(fhir.repo, changed.patientId).outcome).not.toEqual(expectedOutcome(changed));

    // The watcher looks again: every Subscription is delivering, and the catch-up assesses what changed.
    const catchUpsBefore = await catchUpsDone(adapter);
    holdWatcher = undefined;
    release();
    await waitFor(() => adapterSubscriptions(fhir).every((s) => s.status === 'active'), 'Subscriptions re-activated');
    const byId = new Map(cases.map((tc) => [tc.patientId, tc]));
    for (const { changed } of changes) byId.set(changed.patientId, changed);
    const expected = [...byId.values(), ...newcomers];
    await waitUntilAssessed(fhir, expected, 'every changed and new patient assessed after re-activation');
    expect(await catchUpsDone(adapter), because('catch-ups')).toBeGreaterThan(catchUpsBefore);
    expect(relay.deliveries.length, because('no notification of the changes was delivered late')).toBe(delivered);

    // Delivering again: a later change arrives as a notification and is assessed.
    const again = grown(newcomers[0] as TestCase);
    await write(fhir, again.resources);
    await settle(fhir, adapter);
    expect(relay.deliveries.length).toBeGreaterThan(delivered);
    expectAssessed(fhir.repo, again.changed);
    expect(await adapter.queue.stats()).toMatchObject({ queued: 0, active: 0, deadLettered: 0 });
  });

  it('notifications lost on the way (the server saw a 200): the poller finds and assesses every change', async () => {
    const fhir = await sandbox();
    const relay = await startRelay();
    const adapter = await startSubscribedAdapter({
      fhir,
      relay,
      schema: schemaFor('lost'),
      watchIntervalMs: 60_000,
      pollIntervalSeconds: 1,
    });

    // Loading: some patients lose every notification, the others a seeded third of them.
    const cases = CHANGEABLE.flatMap((name) => [loadCase(name, 'lost1'), loadCase(name, 'lost2')]);
    const silent = new Set(
      shuffled(cases, SEED)
        .slice(0, 3)
        .map((tc) => tc.patientId),
    );
    const ofSilent = new Set(
      cases
        .filter((tc) => silent.has(tc.patientId))
        .flatMap((tc) => tc.resources.map((r) => `${r.resourceType}/${r.id}`)),
    );
    let coin = SEED;
    relay.drop = (d) => ofSilent.has(`${d.resourceType}/${d.id}`) || shuffled([true, false, false], coin++)[0] === true;
    await loadCases(fhir.baseUrl, cases);
    await fhir.sandbox.waitForIdle();
    expect(relay.deliveries.some((d) => d.dropped && !ofSilent.has(`${d.resourceType}/${d.id}`))).toBe(true);
    await waitUntilAssessed(fhir, cases, 'every loaded patient assessed');

    // Changes to half the patients, every notification of them lost.
    relay.drop = () => true;
    const changes = shuffled(cases, SEED + 1)
      .slice(0, cases.length / 2)
      .map(grown);
    const forwardedBefore = relay.deliveries.filter((d) => !d.dropped).length;
    for (const change of changes) await write(fhir, change.resources);
    await fhir.sandbox.waitForIdle();
    expect(relay.deliveries.filter((d) => !d.dropped).length).toBe(forwardedBefore);
    const byId = new Map(cases.map((tc) => [tc.patientId, tc]));
    for (const { changed } of changes) byId.set(changed.patientId, changed);
    await waitUntilAssessed(fhir, [...byId.values()], 'every changed patient assessed by the poller');
    await waitForQueueQuiet(adapter.queue);
    expect(await adapter.queue.stats()).toMatchObject({ queued: 0, active: 0, deadLettered: 0 });
    expect(await adapter.state.get('poll-checkpoint')).toBeTruthy();
  });

  describe('Backport event numbers', () => {
    it('several patients changed during a gap after a checkpoint: one catch-up assesses them all, and no one else', async () => {
      const fhir = await sandbox();
      const requests: { url: string; body?: string }[] = [];
      const recording: FetchFn = (url, init) => {
        requests.push({ url, ...(typeof init?.body === 'string' ? { body: init.body } : {}) });
        return fetch(url, init);
      };
      const adapter = await startAdapter({ fhirBaseUrl: fhir.baseUrl, schema: schemaFor('gaps'), fetch: recording });
      const sub = 'gaps';
      const cases = CHANGEABLE.flatMap((name) => [loadCase(name, 'gap1'), loadCase(name, 'gap2')]);
      await loadCases(fhir.baseUrl, cases);

      // Events 1 and 3: the first gap catches up from nothing (everything is assessed) and leaves a checkpoint.
      await sendBackport(
        adapter,
        backport(fhir.baseUrl, sub, 'event-notification', 1, await patientOf(fhir, cases[0] as TestCase)),
      );
      await sendBackport(
        adapter,
        backport(fhir.baseUrl, sub, 'event-notification', 3, await patientOf(fhir, cases[1] as TestCase)),
      );
      await waitForQueueQuiet(adapter.queue);
      for (const tc of cases) expectAssessed(fhir.repo, tc);
      expect(await adapter.state.get('poll-checkpoint')).toBeTruthy();

      // Events 4-8 are lost: three patients change, two new patients arrive. Event 9 names an unchanged patient.
      const [focus, ...rest] = shuffled(cases, SEED);
      const changes = rest.slice(0, 3).map(grown);
      for (const change of changes) await write(fhir, change.resources);
      const newcomers = ['responder', 'continued-pr'].map((name) => loadCase(name, 'gap3'));
      await loadCases(fhir.baseUrl, newcomers);
      const unchanged = rest.slice(3);
      const readsBefore = new Map(unchanged.map((tc) => [tc.patientId, contextReads(requests, tc.patientId)]));
      await sendBackport(
        adapter,
        backport(fhir.baseUrl, sub, 'event-notification', 9, await patientOf(fhir, focus as TestCase)),
      );
      await waitForQueueQuiet(adapter.queue);

      for (const { changed } of changes) expectAssessed(fhir.repo, changed);
      for (const tc of [...newcomers, ...unchanged, focus as TestCase]) expectAssessed(fhir.repo, tc);
      // The catch-up started from the checkpoint: patients that did not change were not read again.
      for (const tc of unchanged)
        expect(contextReads(requests, tc.patientId), tc.name).toBe(readsBefore.get(tc.patientId));
      expect(await adapter.state.get(`event-number:${sub}`)).toBe(9);
    });

    it('a gap across a restart of the adapter: the new instance sees it from the stored event number', async () => {
      const fhir = await sandbox();
      const schema = schemaFor('restartgap');
      const sub = 'restart-gap';
      const cases = CHANGEABLE.map((name) => loadCase(name, 'rg1'));
      await loadCases(fhir.baseUrl, cases);

      const first = await startAdapter({ fhirBaseUrl: fhir.baseUrl, schema });
      cleanups.push(() => first.close());
      await sendBackport(
        first,
        backport(fhir.baseUrl, sub, 'event-notification', 1, await patientOf(fhir, cases[0] as TestCase)),
      );
      await sendBackport(
        first,
        backport(fhir.baseUrl, sub, 'event-notification', 3, await patientOf(fhir, cases[1] as TestCase)),
      );
      await waitForQueueQuiet(first.queue);
      for (const tc of cases) expectAssessed(fhir.repo, tc);
      await first.close();

      // While the adapter is down, events 4-6 fail to deliver: two patients change, one arrives.
      const changes = cases.slice(2).map(grown);
      for (const change of changes) await write(fhir, change.resources);
      const newcomer = loadCase('pseudoprogression', 'rg2');
      await loadCases(fhir.baseUrl, [newcomer]);

      // A new instance on the same database gets event 7: a gap against the 3 stored before the restart.
      const second = await startAdapter({ fhirBaseUrl: fhir.baseUrl, schema });
      cleanups.push(() => second.close());
      await sendBackport(
        second,
        backport(fhir.baseUrl, sub, 'event-notification', 7, await patientOf(fhir, cases[0] as TestCase)),
      );
      await waitForQueueQuiet(second.queue);
      for (const { changed } of changes) expectAssessed(fhir.repo, changed);
      for (const tc of [...cases.slice(0, 2), newcomer]) expectAssessed(fhir.repo, tc);
      expect(await catchUpsDone(second)).toBe(1);

      // The last event, delivered again to the new instance, is still a duplicate.
      const res = await notify(second.url, {
        headers: { 'content-type': 'application/fhir+json' },
        body: backport(fhir.baseUrl, sub, 'event-notification', 7, await patientOf(fhir, cases[1] as TestCase)),
      });
      expect(replyText(await res.json())).toMatch(/duplicate/i);
    });

    /**
     * Four patients assessed through events 20-23 of a subscription, then the server restarts counting (announced by
     * a handshake at 0 when `handshake`), and events 1 and 2 carry changes to two patients. Returns the adapter's
     * replies to those two events and the changed cases.
     */
    async function restartCounting(label: string, handshake: boolean) {
      const fhir = await sandbox();
      const adapter = await startAdapter({ fhirBaseUrl: fhir.baseUrl, schema: schemaFor(label) });
      const cases = CHANGEABLE.map((name) => loadCase(name, label));
      await loadCases(fhir.baseUrl, cases);
      const sub = `${label}-sub`;
      for (const [i, tc] of cases.entries()) {
        await sendBackport(
          adapter,
          backport(fhir.baseUrl, sub, 'event-notification', 20 + i, await patientOf(fhir, tc)),
        );
      }
      await waitForQueueQuiet(adapter.queue);
      for (const tc of cases) expectAssessed(fhir.repo, tc);

      if (handshake) {
        await sendBackport(adapter, backport(fhir.baseUrl, sub, 'handshake', 0));
        await waitForQueueQuiet(adapter.queue);
      }
      const changes = shuffled(cases, SEED).slice(0, 2).map(grown);
      const replies: string[] = [];
      for (const [i, change] of changes.entries()) {
        await write(fhir, change.resources);
        const observation = await fhir.repo.readResource('Observation', change.resources[0]?.id as string);
        const res = await notify(adapter.url, {
          headers: { 'content-type': 'application/fhir+json' },
          body: backport(fhir.baseUrl, sub, 'event-notification', i + 1, observation),
        });
        expect(res.status).toBe(200);
        replies.push(replyText(await res.json()));
      }
      await waitForQueueQuiet(adapter.queue);
      return { fhir, adapter, sub, replies, changed: changes.map((c) => c.changed) };
    }

    it('numbers restarting from 1 after a handshake: the new events are assessed', async () => {
      const { fhir, adapter, sub, changed } = await restartCounting('resetannounced', true);
      for (const tc of changed) expectAssessed(fhir.repo, tc);
      expect(await adapter.state.get(`event-number:${sub}`)).toBe(2);
    });

    // HAPI numbers events from ActiveSubscription.getDeliveriesCount() ("should be read from the database"): after a
    // server restart it counts from 1 again, with no handshake. Lower numbers are taken as a reset (events + catch-up).
    it('numbers restarting from 1 without a handshake: the new events are assessed too', async () => {
      const { fhir, adapter, sub, changed } = await restartCounting('resetsilent', false);
      for (const tc of changed) expectAssessed(fhir.repo, tc);
      expect(await adapter.state.get(`event-number:${sub}`)).toBe(2);
    });
  });
});
