import { createHmac } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyMedplumSignature } from '../../src/sandbox/medplum-signature.ts';
import type { Json, SandboxHarness, Subscriber } from './harness.ts';
import { startSandbox, startSubscriber, subscription } from './harness.ts';

const SECRET_URL = 'https://www.medplum.com/fhir/StructureDefinition/subscription-secret';
const MAX_ATTEMPTS_URL = 'https://www.medplum.com/fhir/StructureDefinition/subscription-max-attempts';
const SUPPORTED_INTERACTION_URL = 'https://medplum.com/fhir/StructureDefinition/subscription-supported-interaction';
const TUMOR_SIZE = 'Observation?code=http://loinc.org|21889-1';
const SECRET = 'sandbox-test-secret';

let h: SandboxHarness;
let subscriber: Subscriber;

beforeEach(async () => {
  h = await startSandbox();
  subscriber = await startSubscriber();
});
afterEach(async () => {
  await h.close();
  await subscriber.close();
});

function observation(code = '21889-1', extra: Record<string, unknown> = {}) {
  return {
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code }] },
    subject: { reference: 'Patient/p1' },
    ...extra,
  };
}

async function subscribe(criteria = TUMOR_SIZE, extension: unknown[] = [], extra: Record<string, unknown> = {}) {
  const res = await h.fhir(
    'POST',
    'Subscription',
    subscription(subscriber.url, criteria, {
      extension: [{ url: SECRET_URL, valueString: SECRET }, ...extension],
      ...extra,
    }),
  );
  expect(res.status).toBe(201);
  await h.sandbox.waitForIdle();
  return res.body.id as string;
}

function hmac(raw: Buffer): string {
  return createHmac('sha256', SECRET).update(raw).digest('hex');
}

describe('Medplum-style rest-hook notifications', () => {
  it('POSTs create, update and delete with the exact headers, body and a verifiable signature', async () => {
    const subId = await subscribe(TUMOR_SIZE, [], {
      channel: {
        type: 'rest-hook',
        endpoint: subscriber.url,
        header: ['Authorization: Bearer token:with:colons', 'X-Extra:  yes '],
      },
    });

    const created = (await h.fhir('POST', 'Observation', observation())).body;
    await h.sandbox.waitForIdle();
    expect(subscriber.received).toHaveLength(1);
    const onCreate = subscriber.received[0]!;
    expect(onCreate.path).toBe('/notifications');
    expect(onCreate.headers['content-type']).toBe('application/fhir+json');
    expect(onCreate.headers['x-medplum-subscription']).toBe(subId);
    expect(onCreate.headers['x-medplum-interaction']).toBe('create');
    expect(onCreate.headers['x-medplum-deleted-resource']).toBeUndefined();
    expect(onCreate.headers.authorization).toBe('Bearer token:with:colons');
    expect(onCreate.headers['x-extra']).toBe('yes');
    expect(onCreate.headers['x-signature']).toBe(hmac(onCreate.raw));
    expect(verifyMedplumSignature(onCreate.raw, SECRET, onCreate.headers['x-signature'] as string)).toBe(true);
    expect(verifyMedplumSignature(onCreate.raw, 'wrong', onCreate.headers['x-signature'] as string)).toBe(false);
    expect(onCreate.body).toEqual(created);

    const updated = (await h.fhir('PUT', `Observation/${created.id}`, { ...created, status: 'amended' })).body;
    await h.sandbox.waitForIdle();
    expect(subscriber.received).toHaveLength(2);
    const onUpdate = subscriber.received[1]!;
    expect(onUpdate.headers['x-medplum-interaction']).toBe('update');
    expect(onUpdate.body).toEqual(updated);
    expect(onUpdate.body.meta.versionId).not.toBe(created.meta.versionId);
    expect(onUpdate.headers['x-signature']).toBe(hmac(onUpdate.raw));

    await h.fhir('DELETE', `Observation/${created.id}`);
    await h.sandbox.waitForIdle();
    expect(subscriber.received).toHaveLength(3);
    const onDelete = subscriber.received[2]!;
    expect(onDelete.raw.toString('utf8')).toBe('{}');
    expect(onDelete.headers['x-medplum-interaction']).toBe('delete');
    expect(onDelete.headers['x-medplum-deleted-resource']).toBe(`Observation/${created.id}`);
    expect(onDelete.headers['x-signature']).toBe(hmac(Buffer.from('{}')));
  });

  it('sends no X-Signature without a secret', async () => {
    await h.fhir('POST', 'Subscription', subscription(subscriber.url, TUMOR_SIZE));
    await h.fhir('POST', 'Observation', observation());
    await h.sandbox.waitForIdle();
    expect(subscriber.received).toHaveLength(1);
    expect(subscriber.received[0]!.headers['x-signature']).toBeUndefined();
  });

  it('only fires for resources the criteria match', async () => {
    await subscribe();
    await h.fhir('POST', 'Observation', observation('89247-1'));
    await h.fhir('POST', 'Patient', { resourceType: 'Patient' });
    await h.fhir('POST', 'Observation', observation('21889-1'));
    await h.sandbox.waitForIdle();
    expect(subscriber.received).toHaveLength(1);
    expect(subscriber.received[0]!.body.code.coding[0].code).toBe('21889-1');
  });

  it('does not notify for unchanged writes (no loop on idempotent re-writes)', async () => {
    await subscribe('DiagnosticReport');
    const url = 'DiagnosticReport?identifier=https://irecist-adapter.dev/fhir/report|n-1';
    const body = {
      resourceType: 'DiagnosticReport',
      identifier: [{ system: 'https://irecist-adapter.dev/fhir/report', value: 'n-1' }],
      status: 'final',
      code: { text: 'iRECIST' },
    };
    await h.fhir('PUT', url, body);
    await h.fhir('PUT', url, body);
    await h.fhir('PUT', url, body);
    await h.sandbox.waitForIdle();
    expect(subscriber.received).toHaveLength(1);
    expect(subscriber.received[0]!.headers['x-medplum-interaction']).toBe('create');
  });

  it('notifies for each matching entry of a committed transaction, and for nothing of a failed one', async () => {
    await subscribe();
    const ok = await h.fhir('POST', '', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: observation(), request: { method: 'POST', url: 'Observation' } },
        { resource: observation(), request: { method: 'POST', url: 'Observation' } },
        { resource: observation('2857-1'), request: { method: 'POST', url: 'Observation' } },
      ],
    });
    expect(ok.status).toBe(200);
    await h.sandbox.waitForIdle();
    expect(subscriber.received).toHaveLength(2);
    expect(new Set(subscriber.received.map((n) => n.body.id))).toEqual(
      new Set(ok.body.entry.slice(0, 2).map((e: Json) => e.resource.id)),
    );

    const failed = await h.fhir('POST', '', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: observation(), request: { method: 'POST', url: 'Observation' } },
        { resource: observation('21889-1', { colour: 'red' }), request: { method: 'POST', url: 'Observation' } },
      ],
    });
    expect(failed.status).toBe(400);
    await h.sandbox.waitForIdle();
    expect(subscriber.received).toHaveLength(2);
  });

  it('retries with backoff after a 500 and delivers the same signed body', async () => {
    subscriber.respond = (index) => (index < 2 ? 500 : 200);
    await subscribe();
    await h.fhir('POST', 'Observation', observation());
    await h.sandbox.waitForIdle();
    expect(subscriber.received).toHaveLength(3);
    const bodies = new Set(subscriber.received.map((n) => n.raw.toString('utf8')));
    expect(bodies.size).toBe(1);
    expect(subscriber.received.every((n) => n.headers['x-signature'] === hmac(n.raw))).toBe(true);
    expect(h.sandbox.notificationStats).toMatchObject({ delivered: 1, failed: 0, attempts: 3 });
  });

  it('gives up after the max-attempts extension (default 3)', async () => {
    subscriber.respond = () => 503;
    await subscribe(TUMOR_SIZE, [{ url: MAX_ATTEMPTS_URL, valueInteger: 2 }]);
    await h.fhir('POST', 'Observation', observation());
    await h.sandbox.waitForIdle();
    expect(subscriber.received).toHaveLength(2);
    expect(h.sandbox.notificationStats).toMatchObject({ delivered: 0, failed: 1, attempts: 2 });

    subscriber.received.length = 0;
    const other = await startSandbox();
    try {
      await other.fhir('POST', 'Subscription', subscription(subscriber.url, TUMOR_SIZE));
      await other.fhir('POST', 'Observation', observation());
      await other.sandbox.waitForIdle();
      expect(subscriber.received).toHaveLength(3);
    } finally {
      await other.close();
    }
  });

  it('retries on network errors', async () => {
    const gone = await startSubscriber();
    const deadUrl = gone.url;
    await gone.close();
    await h.fhir(
      'POST',
      'Subscription',
      subscription(deadUrl, TUMOR_SIZE, { extension: [{ url: MAX_ATTEMPTS_URL, valueInteger: 2 }] }),
    );
    await h.fhir('POST', 'Observation', observation());
    await h.sandbox.waitForIdle();
    expect(h.sandbox.notificationStats).toMatchObject({ delivered: 0, failed: 1, attempts: 2 });
  });

  it('honours the supported-interaction extension and inactive subscriptions', async () => {
    await subscribe(TUMOR_SIZE, [{ url: SUPPORTED_INTERACTION_URL, valueCode: 'delete' }]);
    await h.fhir('POST', 'Subscription', { ...subscription(subscriber.url, TUMOR_SIZE), status: 'off' });
    const created = (await h.fhir('POST', 'Observation', observation())).body;
    await h.sandbox.waitForIdle();
    expect(subscriber.received).toHaveLength(0);
    await h.fhir('DELETE', `Observation/${created.id}`);
    await h.sandbox.waitForIdle();
    expect(subscriber.received).toHaveLength(1);
    expect(subscriber.received[0]!.headers['x-medplum-interaction']).toBe('delete');
  });

  it('waitForIdle waits for slow deliveries', async () => {
    subscriber.respond = () => new Promise((resolve) => setTimeout(() => resolve(200), 150));
    await subscribe();
    await h.fhir('POST', 'Observation', observation());
    const started = Date.now();
    await h.sandbox.waitForIdle();
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
    expect(h.sandbox.notificationStats.delivered).toBe(1);
  });

  it('notifies for direct repository writes too', async () => {
    await subscribe();
    await h.sandbox.repo.createResource(observation() as Json);
    await h.sandbox.waitForIdle();
    expect(subscriber.received).toHaveLength(1);
  });

  it('close() abandons pending retries promptly', async () => {
    const slow = await startSandbox({ notifications: { retryBaseDelayMs: 60_000 } });
    subscriber.respond = () => 500;
    await slow.fhir('POST', 'Subscription', subscription(subscriber.url, TUMOR_SIZE));
    await slow.fhir('POST', 'Observation', observation());
    while (subscriber.received.length === 0) await new Promise((r) => setTimeout(r, 5));
    const started = Date.now();
    await slow.close();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(subscriber.received).toHaveLength(1);
  });
});
