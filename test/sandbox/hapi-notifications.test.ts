/**
 * The hapi profile notifies as HAPI FHIR does: a Subscription written `requested` is activated by the server; with a
 * payload, `PUT {endpoint}/{type}/{id}` of the resource (a delete only with send-delete-messages); without one, an
 * empty POST that names nothing; the channel's header lines every time; HAPI's retry count.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SandboxHarness, Subscriber } from './harness.ts';
import { startSandbox, startSubscriber, subscription } from './harness.ts';

const SEND_DELETES = 'http://hapifhir.io/fhir/StructureDefinition/subscription-send-delete-messages';
const RETRY_COUNT = 'http://hapifhir.io/fhir/StructureDefinition/subscription-delivery-retry-count';
const CRITERIA = 'Observation?code=http://loinc.org|21889-1';

let h: SandboxHarness;
let subscriber: Subscriber;

beforeEach(async () => {
  h = await startSandbox({ profile: 'hapi' });
  subscriber = await startSubscriber();
});
afterEach(async () => {
  await h.close();
  await subscriber.close();
});

const observation = {
  resourceType: 'Observation',
  status: 'final',
  code: { coding: [{ system: 'http://loinc.org', code: '21889-1' }] },
  subject: { reference: 'Patient/p1' },
};

/** Creates a `requested` Subscription and waits until the server has activated it. */
async function subscribe(channel: Record<string, unknown>): Promise<string> {
  const res = await h.fhir(
    'POST',
    'Subscription',
    subscription(subscriber.url, CRITERIA, {
      status: 'requested',
      channel: {
        type: 'rest-hook',
        endpoint: subscriber.url,
        header: ['Authorization: Bearer hapi-secret'],
        ...channel,
      },
    }),
  );
  expect(res.status).toBe(201);
  for (let i = 0; i < 50; i++) {
    const current = await h.fhir('GET', `Subscription/${res.body.id}`);
    if (current.body.status === 'active') return res.body.id;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('the hapi profile did not activate the Subscription');
}

describe('HAPI-style rest-hook deliveries', () => {
  it('with a payload: PUT {endpoint}/{type}/{id} with the resource; a delete only with send-delete-messages', async () => {
    await subscribe({ payload: 'application/fhir+json', extension: [{ url: SEND_DELETES, valueBoolean: true }] });
    const created = (await h.fhir('POST', 'Observation', observation)).body;
    await h.sandbox.waitForIdle();
    expect(subscriber.received).toHaveLength(1);
    const put = subscriber.received[0]!;
    expect(put.path).toBe(`/notifications/Observation/${created.id}`);
    expect(put.headers.authorization).toBe('Bearer hapi-secret');
    expect(put.headers['content-type']).toBe('application/fhir+json');
    expect(put.headers['x-medplum-subscription']).toBeUndefined();
    expect(put.body).toEqual(created);

    await h.fhir('DELETE', `Observation/${created.id}`);
    await h.sandbox.waitForIdle();
    expect(subscriber.received).toHaveLength(2);
    expect(subscriber.received[1]!.path).toBe(`/notifications/Observation/${created.id}`);
    expect(subscriber.received[1]!.raw.length).toBe(0);
  });

  it('a delete without send-delete-messages notifies nobody', async () => {
    await subscribe({ payload: 'application/fhir+json' });
    const created = (await h.fhir('POST', 'Observation', observation)).body;
    await h.sandbox.waitForIdle();
    await h.fhir('DELETE', `Observation/${created.id}`);
    await h.sandbox.waitForIdle();
    expect(subscriber.received.map((n) => n.path)).toEqual([`/notifications/Observation/${created.id}`]);
  });

  it('without a payload: an empty POST to the endpoint that names nothing', async () => {
    await subscribe({});
    await h.fhir('POST', 'Observation', observation);
    await h.sandbox.waitForIdle();
    expect(subscriber.received).toHaveLength(1);
    expect(subscriber.received[0]!.path).toBe('/notifications');
    expect(subscriber.received[0]!.raw.length).toBe(0);
    expect(subscriber.received[0]!.headers.authorization).toBe('Bearer hapi-secret');
  });

  it("retries as many times as HAPI's retry count says", async () => {
    await subscribe({ extension: [{ url: RETRY_COUNT, valueInteger: 2 }] });
    subscriber.respond = () => 500;
    await h.fhir('POST', 'Observation', observation);
    await h.sandbox.waitForIdle();
    expect(subscriber.received).toHaveLength(3);
    expect(h.sandbox.notificationStats.failed).toBe(1);
  });
});
