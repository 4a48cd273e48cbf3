import { createHmac } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import type { OperationOutcome } from '@medplum/fhirtypes';
import express from 'express';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createInMemoryEventNumberTracker, type EventNumberTracker } from '../../src/intake/event-number-tracker.ts';
import type { JobIntent } from '../../src/intake/jobs.ts';
import { createNotificationsRouter, type NotificationsRouterDeps } from '../../src/intake/notifications-router.ts';
import { fixtureBody, loadFixtures } from './fixture-loader.ts';

const SECRET = 'test-webhook-secret-0a9f';
const BEARER = { authorization: `Bearer ${SECRET}` };
const MAX_BODY = 64 * 1024;

interface Harness {
  url: string;
  calls: JobIntent[][];
  tracker: EventNumberTracker;
  failEnqueue: boolean;
  close: () => Promise<void>;
}

async function start(overrides: Partial<NotificationsRouterDeps> = {}): Promise<Harness> {
  const harness = {
    calls: [] as JobIntent[][],
    tracker: createInMemoryEventNumberTracker(),
    failEnqueue: false,
  } as Harness;
  const app = express();
  app.use(
    createNotificationsRouter({
      secret: SECRET,
      tracker: { get: (s) => harness.tracker.get(s), set: (s, n) => harness.tracker.set(s, n) },
      enqueue: async (jobs) => {
        if (harness.failEnqueue) throw new Error('queue down: postgres://user:pw@db/x');
        harness.calls.push(jobs);
      },
      maxBodyBytes: MAX_BODY,
      ...overrides,
    }),
  );
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  harness.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  harness.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return harness;
}

async function send(
  h: Harness,
  method: string,
  path: string,
  body: string | Buffer | undefined,
  headers: Record<string, string>,
): Promise<{ status: number; contentType: string | null; json: OperationOutcome; headers: Headers }> {
  const res = await fetch(`${h.url}${path}`, { method, headers, body });
  const text = await res.text();
  return {
    status: res.status,
    contentType: res.headers.get('content-type'),
    json: text ? JSON.parse(text) : undefined,
    headers: res.headers,
  };
}

const outcome = (severity: string, code: string, text: string) => ({
  resourceType: 'OperationOutcome',
  issue: [{ severity, code, details: { text } }],
});

describe('notifications router over HTTP', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await start();
  });
  afterAll(async () => {
    await h.close();
  });
  beforeEach(() => {
    h.calls.length = 0;
    h.failEnqueue = false;
    h.tracker = createInMemoryEventNumberTracker();
  });

  describe.each([
    ['bearer token', () => BEARER],
    ['X-Signature', (body: Buffer) => ({ 'x-signature': createHmac('sha256', SECRET).update(body).digest('hex') })],
  ])('every fixture, authenticated by %s', (_label, auth) => {
    it.each(loadFixtures().map((f) => [f.name, f] as const))('%s', async (_name, fixture) => {
      h.tracker = createInMemoryEventNumberTracker(fixture.tracker);
      const body = fixtureBody(fixture);
      const res = await send(h, fixture.request.method, fixture.request.path, body.length ? body : undefined, {
        ...fixture.request.headers,
        ...auth(body),
      });
      expect(res.status).toBe(fixture.expect.status);
      expect(res.contentType).toBe('application/fhir+json; charset=utf-8');
      // HAPI parses the reply to a topic-based or transaction delivery as a Bundle (HAPI-1814): those get one.
      const told = outcome('information', 'informational', fixture.expect.text);
      const bundleType = {
        'backport-r4': 'batch-response',
        r4b: 'batch-response',
        r5: 'batch-response',
        transaction: 'transaction-response',
      }[fixture.name.split('-')[0] === 'backport' ? 'backport-r4' : (fixture.name.split('-')[0] ?? '')];
      expect(res.json).toEqual(
        bundleType
          ? { resourceType: 'Bundle', type: bundleType, entry: [{ response: { status: '200 OK', outcome: told } }] }
          : told,
      );
      expect(h.calls).toEqual(fixture.expect.jobs.length ? [fixture.expect.jobs] : []);
      for (const [sub, n] of Object.entries(fixture.expect.trackerAfter ?? {}))
        expect(await h.tracker.get(sub)).toBe(n);
    });
  });

  const patient = JSON.stringify({ resourceType: 'Patient', id: 'p1' });
  const JSON_TYPE = { 'content-type': 'application/fhir+json' };

  it.each<[string, Record<string, string>]>([
    ['no credentials', {}],
    ['a wrong bearer', { authorization: 'Bearer wrong' }],
    [
      'a truncated signature',
      { 'x-signature': createHmac('sha256', SECRET).update(patient).digest('hex').slice(0, 40) },
    ],
    [
      'a valid signature over a different body',
      { 'x-signature': createHmac('sha256', SECRET).update(`${patient} `).digest('hex') },
    ],
  ])('%s -> 401, nothing queued', async (_label, auth) => {
    const res = await send(h, 'POST', '/notifications', patient, { ...JSON_TYPE, ...auth });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
    expect(res.json).toEqual(outcome('error', 'security', 'Notification authentication failed'));
    expect(h.calls).toEqual([]);
  });

  it('authenticates before parsing: malformed JSON without credentials is 401, not 400', async () => {
    const res = await send(h, 'POST', '/notifications', '{nope', JSON_TYPE);
    expect(res.status).toBe(401);
  });

  it('malformed JSON -> 400 OperationOutcome', async () => {
    const res = await send(h, 'POST', '/notifications', '{"resourceType":', { ...JSON_TYPE, ...BEARER });
    expect(res.status).toBe(400);
    expect(res.json).toEqual(outcome('error', 'invalid', 'Malformed JSON'));
    expect(h.calls).toEqual([]);
  });

  it('JSON of no known shape -> 400 with expression paths', async () => {
    const res = await send(
      h,
      'POST',
      '/notifications',
      JSON.stringify({ resourceType: 'Observation', subject: { reference: 5 } }),
      {
        ...JSON_TYPE,
        ...BEARER,
      },
    );
    expect(res.status).toBe(400);
    expect(res.json).toEqual({
      resourceType: 'OperationOutcome',
      issue: [
        {
          severity: 'error',
          code: 'invalid',
          details: { text: 'Invalid notification' },
          diagnostics: 'Invalid input: expected string, received number',
          expression: ['subject.reference'],
        },
      ],
    });
  });

  it('a wrong content type -> 415', async () => {
    const res = await send(h, 'POST', '/notifications', '<Patient xmlns="http://hl7.org/fhir"/>', {
      'content-type': 'application/fhir+xml',
      ...BEARER,
    });
    expect(res.status).toBe(415);
    expect(res.json).toEqual(
      outcome(
        'error',
        'not-supported',
        'Unsupported media type: send application/fhir+json (or application/json+fhir, application/json) or an empty body',
      ),
    );
    expect(h.calls).toEqual([]);
  });

  it('a body over the limit -> 413 OperationOutcome (Content-Length known)', async () => {
    const big = JSON.stringify({ resourceType: 'Patient', id: 'p1', text: { div: 'x'.repeat(MAX_BODY) } });
    const res = await send(h, 'POST', '/notifications', big, { ...JSON_TYPE, ...BEARER });
    expect(res.status).toBe(413);
    expect(res.contentType).toBe('application/fhir+json; charset=utf-8');
    expect(res.json).toEqual(outcome('error', 'too-costly', 'Notification body too large'));
    expect(h.calls).toEqual([]);
  });

  it('a chunked body over the limit -> 413 OperationOutcome', async () => {
    const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = httpRequest(
        `${h.url}/notifications`,
        { method: 'POST', headers: { ...JSON_TYPE, ...BEARER, 'transfer-encoding': 'chunked' } },
        (res) => {
          let text = '';
          res.on('data', (c) => {
            text += c;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on('error', reject);
      for (let i = 0; i < 20; i++) req.write('x'.repeat(8 * 1024));
      req.end();
    });
    expect(status).toBe(413);
    expect(JSON.parse(text)).toEqual(outcome('error', 'too-costly', 'Notification body too large'));
  });

  it('enqueue failure -> 503, the event number is not recorded, and the redelivery is processed', async () => {
    const body = fixtureBody(loadFixtures().find((f) => f.name === 'backport-r4-event-gap')!);
    h.tracker = createInMemoryEventNumberTracker({ 'irecist-inputs': 6 });
    h.failEnqueue = true;
    const failed = await send(h, 'POST', '/notifications', body, { ...JSON_TYPE, ...BEARER });
    expect(failed.status).toBe(503);
    expect(failed.json).toEqual(outcome('error', 'transient', 'Notification could not be queued; retry later'));
    expect(JSON.stringify(failed.json)).not.toContain('postgres');
    expect(await h.tracker.get('irecist-inputs')).toBe(6);

    h.failEnqueue = false;
    const retried = await send(h, 'POST', '/notifications', body, { ...JSON_TYPE, ...BEARER });
    expect(retried.status).toBe(200);
    expect(h.calls).toHaveLength(1);
    expect(await h.tracker.get('irecist-inputs')).toBe(9);
  });

  it.each(['gzip', 'deflate', 'br', 'gzip, br', 'br2'])('Content-Encoding %s -> 415, nothing queued', async (enc) => {
    const json = Buffer.from(patient);
    const res = await send(h, 'POST', '/notifications', gzipSync(json), {
      ...JSON_TYPE,
      'content-encoding': enc,
      'x-signature': createHmac('sha256', SECRET).update(json).digest('hex'),
    });
    expect(res.status).toBe(415);
    expect(res.json).toEqual(
      outcome(
        'error',
        'not-supported',
        'Unsupported content encoding: send the notification uncompressed (no Content-Encoding)',
      ),
    );
    expect(h.calls).toEqual([]);
  });

  it('Content-Encoding identity is no encoding', async () => {
    const res = await send(h, 'POST', '/notifications', patient, {
      ...JSON_TYPE,
      ...BEARER,
      'content-encoding': 'identity',
    });
    expect(res.status).toBe(200);
  });

  it.each([
    ['GET', '/notifications', 'POST'],
    ['PATCH', '/notifications', 'POST'],
    ['POST', '/notifications/Observation/o1', 'PUT, DELETE'],
    ['GET', '/notifications/Observation/o1', 'PUT, DELETE'],
  ])('%s %s -> 405 with Allow', async (method, path, allow) => {
    const res = await send(h, method, path, undefined, BEARER);
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe(allow);
    expect(res.json).toEqual(outcome('error', 'not-supported', 'Method not allowed'));
  });

  it('a malformed percent-encoding in the path -> 400 OperationOutcome, never HTML', async () => {
    const res = await send(h, 'DELETE', '/notifications/Observation/%E0%A4%A', undefined, BEARER);
    expect(res.status).toBe(400);
    expect(res.contentType).toBe('application/fhir+json; charset=utf-8');
    expect(res.json).toEqual(outcome('error', 'invalid', 'Malformed request'));
  });

  it.each([
    ['/notifications/Spaceship/x1', 'Unknown resource type in the URL', 'type'],
    ['/notifications/Observation/..%2F..%2Fadmin', 'Invalid resource id in the URL', 'id'],
    ['/notifications/Observation/%20', 'Invalid resource id in the URL', 'id'],
  ])('DELETE %s -> 400', async (path, text, expression) => {
    const res = await send(h, 'DELETE', path, undefined, BEARER);
    expect(res.status).toBe(400);
    expect(res.json).toEqual({
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', code: 'invalid', details: { text }, expression: [expression] }],
    });
    expect(h.calls).toEqual([]);
  });

  it('prototype-pollution keys -> 400 and nothing queued', async () => {
    const res = await send(
      h,
      'POST',
      '/notifications',
      '{"resourceType":"Patient","id":"p1","__proto__":{"polluted":1}}',
      {
        ...JSON_TYPE,
        ...BEARER,
      },
    );
    expect(res.status).toBe(400);
    expect(res.json.issue?.[0]?.details?.text).toBe('Forbidden property name');
    expect(h.calls).toEqual([]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('notifications router with the default limit', () => {
  it('accepts a body of several MiB under the 10 MiB default', async () => {
    const h = await start({ maxBodyBytes: undefined });
    try {
      const big = JSON.stringify({ resourceType: 'Patient', id: 'p1', text: { div: 'x'.repeat(3 * 1024 * 1024) } });
      const res = await send(h, 'POST', '/notifications', big, { 'content-type': 'application/json', ...BEARER });
      expect(res.status).toBe(200);
      const tooBig = JSON.stringify({ resourceType: 'Patient', id: 'p1', text: { div: 'x'.repeat(10 * 1024 * 1024) } });
      const res2 = await send(h, 'POST', '/notifications', tooBig, { 'content-type': 'application/json', ...BEARER });
      expect(res2.status).toBe(413);
    } finally {
      await h.close();
    }
  });
});

describe('notifications router wiring', () => {
  it('mounted after a JSON body parser it refuses with a 500 OperationOutcome instead of mis-authenticating', async () => {
    const app = express();
    app.use(express.json({ type: () => true }));
    app.use(
      createNotificationsRouter({
        secret: SECRET,
        tracker: createInMemoryEventNumberTracker(),
        enqueue: async () => {},
      }),
    );
    const server = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/notifications`;
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/fhir+json', ...BEARER },
        body: JSON.stringify({ resourceType: 'Patient', id: 'p1' }),
      });
      expect(res.status).toBe(500);
      expect(await res.json()).toEqual(outcome('error', 'exception', 'Internal error'));
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
