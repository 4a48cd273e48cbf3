/**
 * The sandbox's exposure (issue 12 item 2), against the whole service in sandbox mode over real HTTP (startService with
 * the configuration's own HOST, so the default is what is tested):
 * - it binds loopback only: the machine's non-loopback address refuses the connection;
 * - an anonymous reader never gets the webhook secret (GET /fhir/R4/Subscription, by id, history, a batch, $export is
 *   covered by the same masking), and writing a read copy back keeps the secret (deliveries stay signed);
 * - a Subscription may deliver only to the adapter's own /notifications or SANDBOX_SUBSCRIPTION_ENDPOINTS: any other
 *   endpoint is refused on create, update, patch and in a transaction, and nothing is sent there.
 */
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bundle, Subscription } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { type RunningService, startService } from '../../src/service/start-service.ts';
import { POSTGRES_URL, waitForQuiet } from '../e2e/harness.ts';

let service: RunningService;
let hooks: Server;
let hookUrl: string;
/** Requests the stray receiver got (it must get none from a refused Subscription). */
const received: string[] = [];
let allowedReceived = 0;

beforeAll(async () => {
  hooks = createServer((req, res) => {
    if (req.url?.startsWith('/allowed/')) allowedReceived++;
    else received.push(req.url ?? '');
    req.resume();
    res.end();
  });
  await new Promise<void>((resolve) => hooks.listen(0, '127.0.0.1', resolve));
  hookUrl = `http://127.0.0.1:${(hooks.address() as AddressInfo).port}`;
  const config = loadConfig({
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
    DATA_DIR: mkdtempSync(join(tmpdir(), 'irecist-exposure-')),
    DATABASE_URL: POSTGRES_URL,
    SANDBOX_SUBSCRIPTION_ENDPOINTS: `${hookUrl}/allowed/`,
  });
  config.port = 0;
  // No `host` option: the configuration's HOST default is what binds.
  service = await startService(config, { schema: `exposure_${process.pid}_${Date.now().toString(36)}` });
});

afterAll(async () => {
  await service?.close();
  await new Promise<void>((resolve) => hooks?.close(() => resolve()));
});

const fhir = (path: string, init: RequestInit = {}) =>
  fetch(`${service.url}/fhir/R4${path}`, {
    ...init,
    headers: { 'content-type': 'application/fhir+json', ...(init.headers ?? {}) },
  });

const subscriptionTo = (endpoint: string): Subscription => ({
  resourceType: 'Subscription',
  status: 'active',
  reason: 'exposure test',
  criteria: 'Patient',
  channel: { type: 'rest-hook', endpoint, payload: 'application/fhir+json' },
});

describe('binding', () => {
  const external = Object.values(networkInterfaces())
    .flat()
    .find((a) => a && !a.internal && a.family === 'IPv4')?.address;

  it('listens on loopback by default', () => {
    expect(service.listening).toContain('127.0.0.1');
  });

  it.skipIf(external === undefined)('refuses connections on a non-loopback address', async () => {
    const error = await fetch(`http://${external}:${service.port}/fhir/R4/metadata`).then(
      () => undefined,
      (err: Error & { cause?: { code?: string } }) => err.cause?.code,
    );
    expect(error).toBe('ECONNREFUSED');
    expect((await fhir('/metadata')).status).toBe(200);
  });
});

describe('the webhook secret is never returned to a reader', () => {
  const secret = () => service.config.webhook.secret;

  it('search, read, history and batch answers hold no secret', async () => {
    const search = (await (await fhir('/Subscription')).json()) as Bundle<Subscription>;
    const ours = search.entry?.map((e) => e.resource as Subscription) ?? [];
    expect(ours.length).toBeGreaterThan(0);
    const id = ours[0]?.id as string;
    const batch: Bundle = {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        { request: { method: 'GET', url: `Subscription/${id}` } },
        { request: { method: 'GET', url: 'Subscription' } },
      ],
    };
    const texts = [
      JSON.stringify(search),
      await (await fhir(`/Subscription/${id}`)).text(),
      await (await fhir(`/Subscription/${id}/_history`)).text(),
      await (await fhir('/Subscription/_history')).text(),
      await (await fhir('', { method: 'POST', body: JSON.stringify(batch) })).text(),
    ];
    for (const text of texts) expect(text).not.toContain(secret());
    expect(texts[1]).toContain('***');
  });

  it('a read copy written back keeps the secret: deliveries stay signed and accepted', async () => {
    const search = (await (await fhir('/Subscription')).json()) as Bundle<Subscription>;
    const copy = search.entry
      ?.map((e) => e.resource as Subscription)
      .find((sub) => sub.criteria?.startsWith('ImagingStudy')) as Subscription;
    expect(copy).toBeDefined();
    const put = await fhir(`/Subscription/${copy.id}`, { method: 'PUT', body: JSON.stringify(copy) });
    expect(put.status).toBe(200);
    expect(await put.text()).not.toContain(secret());
    const stored = service.sandbox?.repo.listCurrent('Subscription').find((s) => s.id === copy.id);
    expect(JSON.stringify(stored)).toContain(secret());
    const failedBefore = service.sandbox?.notificationStats.failed ?? 0;
    const deliveredBefore = service.sandbox?.notificationStats.delivered ?? 0;
    const study = { resourceType: 'ImagingStudy', status: 'available', subject: { reference: 'Patient/exposure-p1' } };
    expect((await fhir('/ImagingStudy', { method: 'POST', body: JSON.stringify(study) })).status).toBe(201);
    await waitForQuiet(service);
    expect(service.sandbox?.notificationStats.failed).toBe(failedBefore);
    expect(service.sandbox?.notificationStats.delivered).toBeGreaterThan(deliveredBefore);
  });
});

describe('Subscription endpoints are allow-listed', () => {
  it('create, update, patch and transaction to a stranger URL are refused; nothing is sent there', async () => {
    const stray = `${hookUrl}/steal`;
    const created = await fhir('/Subscription', { method: 'POST', body: JSON.stringify(subscriptionTo(stray)) });
    expect(created.status).toBe(400);
    expect(await created.text()).toContain('SANDBOX_SUBSCRIPTION_ENDPOINTS');

    const own = await fhir('/Subscription', {
      method: 'POST',
      body: JSON.stringify(subscriptionTo(`${service.url}/notifications`)),
    });
    expect(own.status).toBe(201);
    const ownSub = (await own.json()) as Subscription;
    const updated = await fhir(`/Subscription/${ownSub.id}`, {
      method: 'PUT',
      body: JSON.stringify({ ...ownSub, channel: { ...ownSub.channel, endpoint: stray } }),
    });
    expect(updated.status).toBe(400);
    const patched = await fhir(`/Subscription/${ownSub.id}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json-patch+json' },
      body: JSON.stringify([{ op: 'replace', path: '/channel/endpoint', value: stray }]),
    });
    expect(patched.status).toBe(400);
    const transaction: Bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [{ resource: subscriptionTo(stray), request: { method: 'POST', url: 'Subscription' } }],
    };
    expect((await fhir('', { method: 'POST', body: JSON.stringify(transaction) })).status).toBe(400);
    for (const userinfo of [`http://user:pw@127.0.0.1:${service.port}/notifications`, 'file:///etc/passwd']) {
      const res = await fhir('/Subscription', { method: 'POST', body: JSON.stringify(subscriptionTo(userinfo)) });
      expect(res.status).toBe(400);
    }

    await fhir('/Patient', { method: 'POST', body: JSON.stringify({ resourceType: 'Patient' }) });
    await waitForQuiet(service);
    expect(received).toEqual([]);
  });

  it('SANDBOX_SUBSCRIPTION_ENDPOINTS (a URL ending in /) allows what is under it, and it is notified', async () => {
    const res = await fhir('/Subscription', {
      method: 'POST',
      body: JSON.stringify(subscriptionTo(`${hookUrl}/allowed/hook`)),
    });
    expect(res.status).toBe(201);
    await fhir('/Patient', { method: 'POST', body: JSON.stringify({ resourceType: 'Patient' }) });
    await waitForQuiet(service);
    expect(allowedReceived).toBeGreaterThan(0);
    expect(received).toEqual([]);
  });
});
