/**
 * Hostile clients against the real service over HTTP (startAdapter on PostgreSQL, the sandbox FHIR server on its own
 * port): forged, truncated and replayed credentials, bodies over the 10 MiB limit (with an honest, a lying or no
 * Content-Length), slow-loris clients that send headers or a body byte by byte, and a flood of 1,000 unauthenticated
 * requests while good notifications go on. Every refusal is a 4xx OperationOutcome that queues nothing; the slow
 * clients are cut off in bounded time while others are served; the flood neither delays good traffic into failure
 * nor floods the log.
 */
import { createHmac } from 'node:crypto';
import { connect } from 'node:net';
import type { Resource } from '@medplum/fhirtypes';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { logger } from '../../src/logging.ts';
import type { JobRequest } from '../../src/queue/job-queue.ts';
import type { RunningService } from '../../src/service/start-service.ts';
import { expectAssessed, loadCase, loadCases, storedResources, type TestCase } from '../e2e/cases.ts';
import {
  dropSchema,
  type SandboxServer,
  startAdapter,
  startSandboxServer,
  uniqueSchema,
  WEBHOOK_SECRET,
  waitForQueueQuiet,
} from '../e2e/harness.ts';
import { type IntakeCalls, recordIntakeCalls } from './intake-calls.ts';

const MiB = 1024 * 1024;
const JSON_TYPE = { 'content-type': 'application/fhir+json' };

let fhir: SandboxServer;
let adapter: RunningService;
let schema: string;
/** Every call the intake made to the queue (test/attack/intake-calls.ts). */
let intake: IntakeCalls;
/** Every line the process logged while this file ran (the adapter's one pino logger, all its children). */
const logLines: string[] = [];
let restoreLog = (): void => {};

beforeAll(async () => {
  fhir = await startSandboxServer();
  schema = uniqueSchema('hostile');
  // The production log level, so the flood test sees what an operator's log would get.
  adapter = await startAdapter({ fhirBaseUrl: fhir.baseUrl, schema, env: { LOG_LEVEL: 'info' } });
  intake = recordIntakeCalls(adapter.queue);
  const root = logger as unknown as Record<symbol, { write(line: string): void }>;
  const original = root[pino.symbols.streamSym] as { write(line: string): void };
  root[pino.symbols.streamSym] = {
    write: (line: string) => {
      logLines.push(line);
      original.write(line);
    },
  };
  restoreLog = () => {
    root[pino.symbols.streamSym] = original;
  };
});

afterAll(async () => {
  restoreLog();
  await adapter?.close();
  await fhir?.close();
  if (schema) await dropSchema(schema);
});

beforeEach(() => {
  intake.failNext(0);
});

const sign = (body: string | Buffer, secret = WEBHOOK_SECRET): string =>
  createHmac('sha256', secret).update(body).digest('hex');

interface Answer {
  status: number;
  contentType: string | null;
  json: { resourceType?: string; issue?: { severity?: string; code?: string; details?: { text?: string } }[] };
  queued: JobRequest[][];
  ms: number;
}

async function post(body: string | Buffer, headers: Record<string, string>, path = '/notifications'): Promise<Answer> {
  const before = intake.calls.length;
  const started = performance.now();
  const res = await fetch(`${adapter.url}${path}`, {
    method: 'POST',
    headers,
    body,
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  const ms = performance.now() - started;
  return {
    status: res.status,
    contentType: res.headers.get('content-type'),
    json: text ? JSON.parse(text) : {},
    queued: intake.calls.slice(before),
    ms,
  };
}

function expectRefused(answer: Answer, status: number, code: string): void {
  expect(answer.status).toBe(status);
  expect(answer.contentType).toBe('application/fhir+json; charset=utf-8');
  expect(answer.json.resourceType).toBe('OperationOutcome');
  expect(answer.json.issue?.[0]).toMatchObject({ severity: 'error', code });
  expect(answer.queued).toEqual([]);
}

/** A Medplum rest-hook notification as the server sends it: the stored resource version, signed. */
function medplumBody(resource: Resource): string {
  return JSON.stringify(resource);
}

interface RawExchange {
  /** Everything the server sent back. */
  response: string;
  /** When the server closed the connection, from the first byte sent; undefined if the client gave up first. */
  closedAfterMs?: number;
  /** Bytes the client got to send before the connection closed. */
  sent: number;
}

/**
 * Speaks HTTP over a raw socket: sends `parts` with `gapMs` between them, stopping when the server closes the
 * connection; gives up after `giveUpMs`.
 */
function rawExchange(parts: (string | Buffer)[], gapMs: number, giveUpMs: number): Promise<RawExchange> {
  return new Promise((resolve) => {
    const socket = connect(adapter.port, '127.0.0.1');
    const started = performance.now();
    let response = '';
    let sent = 0;
    let closed = false;
    socket.on('data', (d) => {
      response += d.toString('latin1');
    });
    socket.on('error', () => {});
    const giveUp = setTimeout(() => {
      socket.destroy();
      resolve({ response, sent });
    }, giveUpMs);
    socket.on('close', () => {
      closed = true;
      clearTimeout(giveUp);
      resolve({ response, closedAfterMs: performance.now() - started, sent });
    });
    socket.on('connect', async () => {
      for (const part of parts) {
        if (closed) return;
        socket.write(part);
        sent += Buffer.byteLength(part);
        if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
      }
    });
  });
}

/** Runs `work` with the server's slow-client deadlines lowered (the production values are checked separately). */
async function withDeadlines<T>(headersMs: number, requestMs: number, work: () => Promise<T>): Promise<T> {
  const { server } = adapter;
  const saved = { headers: server.headersTimeout, request: server.requestTimeout };
  server.headersTimeout = headersMs;
  server.requestTimeout = requestMs;
  try {
    return await work();
  } finally {
    server.headersTimeout = saved.headers;
    server.requestTimeout = saved.request;
  }
}

const healthy = async (): Promise<boolean> =>
  (await fetch(`${adapter.url}/healthz`, { signal: AbortSignal.timeout(5_000) })).status === 200;

// ---------------------------------------------------------------------------------------------------------------

describe('credentials', () => {
  const body = medplumBody({ resourceType: 'Patient', id: 'cred-p1' });
  const otherBody = medplumBody({ resourceType: 'Patient', id: 'cred-p2' });
  const goodSignature = sign(body);

  it.each<[string, Record<string, string>]>([
    ['no credentials', {}],
    ['a wrong bearer', { authorization: 'Bearer not-the-secret' }],
    ['a truncated bearer', { authorization: `Bearer ${WEBHOOK_SECRET.slice(0, -1)}` }],
    ['the bearer with a character added', { authorization: `Bearer ${WEBHOOK_SECRET}x` }],
    ['the secret without the Bearer scheme', { authorization: WEBHOOK_SECRET }],
    [
      'the secret as Basic credentials',
      { authorization: `Basic ${Buffer.from(`x:${WEBHOOK_SECRET}`).toString('base64')}` },
    ],
    ['the secret as the signature', { 'x-signature': WEBHOOK_SECRET }],
    ['a truncated signature', { 'x-signature': goodSignature.slice(0, 63) }],
    ['a signature with a character added', { 'x-signature': `${goodSignature}0` }],
    ['an empty signature', { 'x-signature': '' }],
    ['a valid signature over a different body', { 'x-signature': sign(otherBody) }],
    ['a signature keyed with another secret', { 'x-signature': sign(body, `${WEBHOOK_SECRET}-old`) }],
    ['a base64 signature of the right HMAC', { 'x-signature': Buffer.from(goodSignature, 'hex').toString('base64') }],
    ['a wrong bearer and a wrong signature', { authorization: 'Bearer nope', 'x-signature': sign(otherBody) }],
  ])('%s: 401 OperationOutcome, nothing queued, nothing echoed', async (_label, credentials) => {
    const answer = await post(body, { ...JSON_TYPE, ...credentials });
    expectRefused(answer, 401, 'security');
    expect(JSON.stringify(answer.json)).not.toContain(WEBHOOK_SECRET);
    expect(JSON.stringify(answer.json)).not.toContain('cred-p1');
  });

  it('the same body with its right signature or bearer is accepted (the refusals above are about the credential)', async () => {
    expect((await post(body, { ...JSON_TYPE, 'x-signature': goodSignature })).status).toBe(200);
    expect((await post(body, { ...JSON_TYPE, authorization: `Bearer ${WEBHOOK_SECRET}` })).status).toBe(200);
  });

  it('an unauthenticated 20 MiB body is refused on its headers: 401, not 413, and the body is not buffered', async () => {
    const answer = await post(Buffer.alloc(20 * MiB, 0x20), JSON_TYPE).catch(() => undefined);
    // The server may answer before the client has sent everything; fetch then reports the reset instead.
    if (answer) expectRefused(answer, 401, 'security');
    expect(await healthy()).toBe(true);
  });
});

describe('replayed notifications', () => {
  let tc: TestCase;
  let patientBody: string;
  beforeAll(async () => {
    tc = loadCase('pseudoprogression', 'replay');
    await loadCases(fhir.baseUrl, [tc]);
    patientBody = medplumBody(await fhir.repo.readResource('Patient', tc.patientId));
  });

  it('a byte-identical signed delivery is a replay: 200 informational, nothing queued, however often and at once', async () => {
    const headers = { ...JSON_TYPE, 'x-signature': sign(patientBody) };
    const first = await post(patientBody, headers);
    expect(first.status).toBe(200);
    expect(first.queued.flat()).toEqual([{ kind: 'assess-patient', patientId: tc.patientId }]);

    const replays = await Promise.all(Array.from({ length: 25 }, () => post(patientBody, headers)));
    for (const replay of replays) {
      expect(replay.status).toBe(200);
      expect(replay.json.issue).toEqual([
        { severity: 'information', code: 'informational', details: { text: 'Duplicate delivery; nothing queued' } },
      ]);
    }
    expect(replays.flatMap((r) => r.queued)).toEqual([]);
    await waitForQueueQuiet(adapter.queue, 30_000);
    expectAssessed(fhir.repo, tc);
  });

  it('a delivery that could not be queued (503) is not remembered: the server retry of the same bytes is queued', async () => {
    const observation = (await storedResources(fhir.repo, tc)).find((r) => r.resourceType === 'Observation');
    const body = medplumBody(observation as Resource);
    const headers = { ...JSON_TYPE, 'x-signature': sign(body) };
    intake.failNext(1);
    const failed = await post(body, headers);
    expect(failed.status).toBe(503);
    expect(failed.json.issue?.[0]).toMatchObject({ severity: 'error', code: 'transient' });
    const retry = await post(body, headers);
    expect(retry.status).toBe(200);
    expect(retry.queued.flat()).toEqual([{ kind: 'assess-patient', patientId: tc.patientId }]);
  });

  it('Medplum deletes share the body `{}`: each deleted resource is its own delivery, only its repeat is a replay', async () => {
    const headers = (id: string) => ({
      ...JSON_TYPE,
      'x-signature': sign('{}'),
      'x-medplum-interaction': 'delete',
      'x-medplum-deleted-resource': `Observation/${id}`,
    });
    const a = await post('{}', headers('gone-1'));
    const b = await post('{}', headers('gone-2'));
    const again = await post('{}', headers('gone-1'));
    expect([a.status, b.status, again.status]).toEqual([200, 200, 200]);
    expect(a.queued.flat()).toEqual([
      { kind: 'resolve-resource', resourceType: 'Observation', id: 'gone-1', deleted: true },
    ]);
    expect(b.queued.flat()).toEqual([
      { kind: 'resolve-resource', resourceType: 'Observation', id: 'gone-2', deleted: true },
    ]);
    expect(again.queued).toEqual([]);
  });

  it('bearer deliveries and signed empty POSTs are not replay-guarded: each repeat is a new signal', async () => {
    const bearer = { ...JSON_TYPE, authorization: `Bearer ${WEBHOOK_SECRET}` };
    const one = await post(patientBody, bearer);
    const two = await post(patientBody, bearer);
    expect(one.queued.flat()).toContainEqual({ kind: 'assess-patient', patientId: tc.patientId });
    expect(two.queued.flat()).toContainEqual({ kind: 'assess-patient', patientId: tc.patientId });
    const emptyOne = await post('', { 'x-signature': sign('') });
    const emptyTwo = await post('', { 'x-signature': sign('') });
    expect(emptyOne.queued.flat()).toEqual([{ kind: 'catch-up', reason: 'empty-notification' }]);
    expect(emptyTwo.queued.flat()).toEqual([{ kind: 'catch-up', reason: 'empty-notification' }]);
  });

  it('Backport: an event number already seen for the subscription is a replay, whatever the bytes and the signature', async () => {
    const event = (n: number, pad = '') =>
      JSON.stringify(
        {
          resourceType: 'Bundle',
          type: 'history',
          entry: [
            {
              resource: {
                resourceType: 'Parameters',
                parameter: [
                  { name: 'subscription', valueReference: { reference: 'Subscription/replay-sub' } },
                  { name: 'type', valueCode: 'event-notification' },
                  { name: 'events-since-subscription-start', valueString: String(n) },
                  {
                    name: 'notification-event',
                    part: [
                      { name: 'event-number', valueString: String(n) },
                      { name: 'focus', valueReference: { reference: `Patient/${tc.patientId}` } },
                    ],
                  },
                ],
              },
            },
          ],
        },
        null,
        pad,
      );
    const send = (text: string) => post(text, { ...JSON_TYPE, 'x-signature': sign(text) });
    const first = await send(event(1));
    expect(first.status).toBe(200);
    expect(first.queued.flat()).toContainEqual({ kind: 'assess-patient', patientId: tc.patientId });
    // The same event re-serialised (other bytes, freshly signed) and an older one: nothing queued.
    for (const replay of [await send(event(1, '  ')), await send(event(1, '\t'))]) {
      expect(replay.status).toBe(200);
      // A topic-based delivery is answered with a Bundle carrying the outcome (HAPI parses one, HAPI-1814).
      const reply = replay.json as { entry?: { response?: { outcome?: Answer['json'] } }[] };
      expect(reply.entry?.[0]?.response?.outcome?.issue?.[0]?.details?.text).toBe('Duplicate notification ignored');
      expect(replay.queued).toEqual([]);
    }
    const next = await send(event(2));
    expect(next.queued.flat()).toContainEqual({ kind: 'assess-patient', patientId: tc.patientId });
  });
});

describe('bodies over the 10 MiB limit', () => {
  const bearer = { ...JSON_TYPE, authorization: `Bearer ${WEBHOOK_SECRET}` };

  const authHead = (framing: string) =>
    `POST /notifications HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${WEBHOOK_SECRET}\r\nContent-Type: application/fhir+json\r\n${framing}\r\n\r\n`;
  /** The refusal as it came over the socket: status line, OperationOutcome body, and the connection closed. */
  const expectTooLarge = (exchange: RawExchange): void => {
    expect(exchange.response).toMatch(/^HTTP\/1\.1 413 /);
    expect(exchange.response).toMatch(/connection: close/i);
    expect(exchange.response).toContain('"code":"too-costly"');
    expect(exchange.closedAfterMs, 'the connection was left open').toBeDefined();
  };

  it.each([
    ['one byte over', 10 * MiB + 1],
    ['five times over', 50 * MiB],
  ])('%s, Content-Length given: 413 on the headers, connection closed, the body not read', async (_label, size) => {
    const before = intake.calls.length;
    const body = Buffer.alloc(size, 0x20);
    const exchange = await rawExchange(
      [authHead(`Content-Length: ${size}`), body.subarray(0, MiB), body.subarray(MiB)],
      50,
      30_000,
    );
    expectTooLarge(exchange);
    expect(intake.calls.length).toBe(before);
    expect(await healthy()).toBe(true);
  });

  it('a notification of exactly 10 MiB is read and accepted; one byte more is not', async () => {
    const of = (size: number) => {
      const head = '{"resourceType":"Patient","id":"limit-p1","text":{"div":"';
      return `${head}${'x'.repeat(size - head.length - 3)}"}}`;
    };
    expect(Buffer.byteLength(of(10 * MiB))).toBe(10 * MiB);
    const atLimit = await post(of(10 * MiB), bearer);
    expect(atLimit.status).toBe(200);
    expect(atLimit.queued.flat()).toEqual([{ kind: 'assess-patient', patientId: 'limit-p1' }]);
    const over = of(10 * MiB + 1);
    expectTooLarge(await rawExchange([authHead(`Content-Length: ${Buffer.byteLength(over)}`), over], 0, 30_000));
  });

  it('chunked, no Content-Length, 30 MiB: 413 and the connection is closed, not read to the end', async () => {
    const head = authHead('Transfer-Encoding: chunked');
    const chunk = Buffer.concat([
      Buffer.from(`${(MiB).toString(16)}\r\n`),
      Buffer.alloc(MiB, 0x20),
      Buffer.from('\r\n'),
    ]);
    const exchange = await rawExchange([head, ...Array.from({ length: 30 }, () => chunk)], 20, 30_000);
    expectTooLarge(exchange);
    // Cut off soon after the limit, not drained to the end (body-parser alone would read all 30 MiB first).
    expect(exchange.sent).toBeLessThan(30 * MiB);
    expect(await healthy()).toBe(true);
  });

  it('a Content-Length smaller than the body: the rest is not taken as a second request', async () => {
    const body = JSON.stringify({ resourceType: 'Patient', id: 'lying-p1' });
    const inner = JSON.stringify({ resourceType: 'Patient', id: 'smuggled-p1' });
    const smuggled = `POST /notifications HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${WEBHOOK_SECRET}\r\nContent-Type: application/fhir+json\r\nContent-Length: ${inner.length}\r\n\r\n${inner}`;
    const request = `POST /notifications HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${WEBHOOK_SECRET}\r\nContent-Type: application/fhir+json\r\nContent-Length: 5\r\n\r\n${body}${smuggled}`;
    const before = intake.calls.length;
    const exchange = await rawExchange([request], 0, 10_000);
    // The first request's body is its first 5 bytes (malformed JSON: 400); what follows is garbage to the parser.
    expect(exchange.response).toMatch(/^HTTP\/1\.1 400 /);
    expect(exchange.response).not.toMatch(/HTTP\/1\.1 200 /);
    expect(intake.calls.length).toBe(before);
  });

  it('a Content-Length larger than the body, then silence: cut off by the request deadline', async () => {
    const head = `POST /notifications HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${WEBHOOK_SECRET}\r\nContent-Type: application/fhir+json\r\nContent-Length: 5000000\r\n\r\n{"resourceType":`;
    const exchange = await withDeadlines(1_000, 2_000, () => rawExchange([head], 0, 20_000));
    expect(exchange.closedAfterMs, 'the server never closed the connection').toBeDefined();
    expect(exchange.closedAfterMs as number).toBeLessThan(10_000);
    expect(exchange.response).not.toMatch(/HTTP\/1\.1 200 /);
  });
});

describe('slow clients', () => {
  it('the production deadlines are set, and far below Node defaults (headers 60 s, request 300 s, checked every 30 s)', () => {
    const { server } = adapter;
    expect(server.headersTimeout).toBeGreaterThan(0);
    expect(server.headersTimeout).toBeLessThanOrEqual(15_000);
    expect(server.requestTimeout).toBeGreaterThanOrEqual(server.headersTimeout);
    expect(server.requestTimeout).toBeLessThanOrEqual(60_000);
    expect(server.keepAliveTimeout).toBeGreaterThan(0);
    expect(server.keepAliveTimeout).toBeLessThanOrEqual(10_000);
  });

  it('headers sent a byte at a time: cut off near the headers deadline while other clients are served', async () => {
    const head = `POST /notifications HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${WEBHOOK_SECRET}\r\nContent-Type: application/fhir+json\r\n`;
    const exchange = await withDeadlines(1_500, 3_000, async () => {
      const slow = rawExchange(head.split(''), 100, 20_000);
      // Others are served while the slow client holds its connection.
      for (let i = 0; i < 5; i++) {
        expect(await healthy()).toBe(true);
        await new Promise((r) => setTimeout(r, 200));
      }
      return slow;
    });
    expect(exchange.closedAfterMs, 'the slow client was never cut off').toBeDefined();
    expect(exchange.closedAfterMs as number).toBeLessThan(10_000);
    expect(exchange.sent).toBeLessThan(head.length);
  });

  it('a body sent a byte at a time after complete headers: cut off near the request deadline', async () => {
    const body = JSON.stringify({ resourceType: 'Patient', id: 'slow-body' });
    const head = `POST /notifications HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${WEBHOOK_SECRET}\r\nContent-Type: application/fhir+json\r\nContent-Length: ${body.length}\r\n\r\n`;
    const before = intake.calls.length;
    const exchange = await withDeadlines(1_000, 2_500, async () => {
      const slow = rawExchange([head, ...body.split('')], 200, 20_000);
      expect(await healthy()).toBe(true);
      return slow;
    });
    expect(exchange.closedAfterMs, 'the slow client was never cut off').toBeDefined();
    expect(exchange.closedAfterMs as number).toBeLessThan(10_000);
    expect(exchange.sent).toBeLessThan(head.length + body.length);
    expect(intake.calls.length).toBe(before);
  });

  it('a connection that sends nothing at all is closed too', async () => {
    const exchange = await withDeadlines(1_000, 2_000, () => rawExchange([], 0, 20_000));
    expect(exchange.closedAfterMs, 'the idle connection was never closed').toBeDefined();
    expect(exchange.closedAfterMs as number).toBeLessThan(10_000);
  });

  it('fifty slow clients at once do not stop the service', async () => {
    const head = 'POST /notifications HTTP/1.1\r\nHost: x\r\n';
    const outcome = await withDeadlines(1_500, 3_000, async () => {
      const slow = Array.from({ length: 50 }, () => rawExchange(head.split(''), 150, 20_000));
      const answers = [];
      for (let i = 0; i < 5; i++) answers.push(await healthy());
      return { answers, slow: await Promise.all(slow) };
    });
    expect(outcome.answers).toEqual([true, true, true, true, true]);
    for (const s of outcome.slow) expect(s.closedAfterMs).toBeDefined();
  });
});

describe('a flood of unauthenticated requests during good traffic', () => {
  it('1,000 at once: all refused with 401, every good notification accepted and its patient assessed, no log flood', async () => {
    const calm = ['a', 'b', 'c'].map((k) => loadCase('confirmed-progression', `calm-${k}`));
    const busy = ['a', 'b', 'c'].map((k) => loadCase('confirmed-progression', `flood-${k}`));
    await loadCases(fhir.baseUrl, [...calm, ...busy]);

    /** Every resource of the patients, notified as Medplum does (signed), four at a time; the ack times. */
    const goodTraffic = async (cases: TestCase[]): Promise<number[]> => {
      const bodies: string[] = [];
      for (const tc of cases) for (const r of await storedResources(fhir.repo, tc)) bodies.push(medplumBody(r));
      const times: number[] = [];
      let next = 0;
      const lane = async () => {
        while (next < bodies.length) {
          const body = bodies[next++] as string;
          const answer = await post(body, { ...JSON_TYPE, 'x-signature': sign(body) });
          expect(answer.status, JSON.stringify(answer.json)).toBe(200);
          times.push(answer.ms);
        }
      };
      await Promise.all([lane(), lane(), lane(), lane()]);
      return times;
    };

    const calmTimes = await goodTraffic(calm);
    await waitForQueueQuiet(adapter.queue, 60_000);

    const marker = 'FLOOD-BODY-0f9e8d';
    const linesBefore = logLines.length;
    const floodRequest = (i: number): Promise<number> => {
      const body = JSON.stringify({ resourceType: 'Patient', id: `flood-${i}`, note: marker });
      const credentials: Record<string, string> =
        i % 3 === 0 ? {} : i % 3 === 1 ? { authorization: `Bearer ${marker}` } : { 'x-signature': sign(body, marker) };
      return fetch(`${adapter.url}/notifications`, {
        method: 'POST',
        headers: { ...JSON_TYPE, ...credentials },
        body,
        signal: AbortSignal.timeout(60_000),
      }).then(async (res) => {
        const outcome = (await res.json()) as { resourceType?: string };
        expect(outcome.resourceType).toBe('OperationOutcome');
        return res.status;
      });
    };
    const intakeBefore = intake.calls.length;
    const [floodStatuses, busyTimes] = await Promise.all([
      Promise.all(Array.from({ length: 1_000 }, (_, i) => floodRequest(i))),
      goodTraffic(busy),
    ]);
    expect(floodStatuses.filter((s) => s !== 401)).toEqual([]);
    // Only the good notifications reached the queue.
    expect(
      intake.calls
        .slice(intakeBefore)
        .flat()
        .filter((j) => j.kind === 'assess-patient' && j.patientId.startsWith('flood-')),
    ).toEqual([]);

    await waitForQueueQuiet(adapter.queue, 60_000);
    for (const tc of [...calm, ...busy]) expectAssessed(fhir.repo, tc);

    const floodLines = logLines.slice(linesBefore);
    const refusalLines = floodLines.filter((l) => l.includes('Notification rejected'));
    // At most one line per kind per 10 s window, however many requests were refused.
    expect(refusalLines.length).toBeGreaterThan(0);
    expect(refusalLines.length).toBeLessThanOrEqual(4);
    expect(floodLines.filter((l) => l.includes(marker))).toEqual([]);
    expect(floodLines.join('\n').length).toBeLessThan(200_000);

    const summary = (times: number[]) => {
      const sorted = [...times].sort((a, b) => a - b);
      const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]?.toFixed(1);
      return `n=${sorted.length} p50=${at(0.5)} ms p95=${at(0.95)} ms max=${at(1)} ms`;
    };
    console.log(
      `good notification acknowledgement without flood: ${summary(calmTimes)}; during 1,000 unauthenticated: ${summary(busyTimes)}; ` +
        `log lines during the flood: ${floodLines.length} (${refusalLines.length} refusal lines)`,
    );
  }, 120_000);
});
