import { describe, expect, it } from 'vitest';
import { OutcomeError } from '../../src/fhir-model/outcomes.ts';
import {
  commitEventNumbers,
  createInMemoryEventNumberTracker,
  type EventNumberTracker,
} from '../../src/intake/event-number-tracker.ts';
import { type NotificationRequest, parseNotification } from '../../src/intake/parse-notification.ts';
import { fixtureBody, loadFixtures, paramsOf } from './fixture-loader.ts';

const FHIR_JSON = 'application/fhir+json';
const SUB_REF = 'https://fhir.example.org/fhir/Subscription/s1';

function post(body: unknown, headers: Record<string, string> = {}, contentType: string | undefined = FHIR_JSON) {
  const rawBody = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  return { method: 'POST', params: {}, headers, rawBody, contentType } satisfies NotificationRequest;
}

async function rejection(promise: Promise<unknown>): Promise<OutcomeError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(OutcomeError);
  return err as OutcomeError;
}

function invalid(...expressions: string[]) {
  return expressions.map((expression) =>
    expect.objectContaining({
      severity: 'error',
      code: 'invalid',
      details: { text: 'Invalid notification' },
      expression: [expression],
    }),
  );
}

/** A Backport R4 notification Bundle (history, Parameters first). */
function backport(
  type: string,
  eventsSince: number | undefined,
  events: { n: number; focus?: string }[],
  extraEntries: unknown[] = [],
) {
  const parameter: unknown[] = [
    { name: 'subscription', valueReference: { reference: SUB_REF } },
    { name: 'type', valueCode: type },
  ];
  if (eventsSince !== undefined)
    parameter.push({ name: 'events-since-subscription-start', valueString: `${eventsSince}` });
  for (const e of events) {
    const part: unknown[] = [{ name: 'event-number', valueString: `${e.n}` }];
    if (e.focus) part.push({ name: 'focus', valueReference: { reference: e.focus } });
    parameter.push({ name: 'notification-event', part });
  }
  return {
    resourceType: 'Bundle',
    type: 'history',
    entry: [{ resource: { resourceType: 'Parameters', parameter } }, ...extraEntries],
  };
}

describe('parseNotification: every documented shape (fixtures)', () => {
  it.each(loadFixtures().map((f) => [f.name, f] as const))('%s', async (_name, fixture) => {
    const tracker = createInMemoryEventNumberTracker(fixture.tracker);
    const result = await parseNotification(
      {
        method: fixture.request.method,
        params: paramsOf(fixture.request.path),
        headers: fixture.request.headers,
        rawBody: fixtureBody(fixture),
        contentType: fixture.request.headers['content-type'],
      },
      tracker,
    );
    expect(result.shape).toBe(fixture.expect.shape);
    expect(result.jobs).toEqual(fixture.expect.jobs);
    expect(result.reply).toEqual({
      status: fixture.expect.status,
      body: {
        resourceType: 'OperationOutcome',
        issue: [{ severity: 'information', code: 'informational', details: { text: fixture.expect.text } }],
      },
    });
    await commitEventNumbers(result.eventNumbers, tracker);
    for (const [sub, n] of Object.entries(fixture.expect.trackerAfter ?? {})) expect(await tracker.get(sub)).toBe(n);
  });
});

describe('parseNotification: bad input is refused with an OperationOutcome', () => {
  const tracker = createInMemoryEventNumberTracker();

  it('malformed JSON -> 400 "Malformed JSON"', async () => {
    const err = await rejection(parseNotification(post('{"resourceType": "Patient",'), tracker));
    expect(err.status).toBe(400);
    expect(err.outcome).toEqual({
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', code: 'invalid', details: { text: 'Malformed JSON' } }],
    });
  });

  it('invalid UTF-8 -> 400', async () => {
    const err = await rejection(parseNotification(post(Buffer.from([0x7b, 0xff, 0xfe, 0x7d])), tracker));
    expect(err.status).toBe(400);
    expect(err.outcome.issue?.[0]?.details?.text).toBe('Request body is not valid UTF-8');
  });

  it.each([
    ['an object without resourceType', { foo: 1 }, ['resourceType']],
    ['an unknown resourceType', { resourceType: 'Spaceship', id: 'x' }, ['resourceType']],
    ['a JSON array', [1, 2], ['(root)']],
    ['a JSON number', 42, ['(root)']],
    ['a JSON string', '"hello"', ['(root)']],
    ['null', null, ['(root)']],
    ['{} without Medplum delete headers', {}, ['resourceType']],
    ['a searchset Bundle', { resourceType: 'Bundle', type: 'searchset', entry: [] }, ['type']],
    ['a history Bundle without entries', { resourceType: 'Bundle', type: 'history', entry: [] }, ['entry.0']],
    [
      'a history Bundle whose first entry is not a status',
      { resourceType: 'Bundle', type: 'history', entry: [{ resource: { resourceType: 'Patient', id: 'p1' } }] },
      ['entry.0.resource.resourceType'],
    ],
    [
      'an id that is not a FHIR id',
      { resourceType: 'Observation', id: 'bad id!', subject: { reference: 'Patient/p1' } },
      ['id'],
    ],
    [
      'a subject reference with a bad id',
      { resourceType: 'Observation', subject: { reference: 'Patient/a b' } },
      ['subject.reference'],
    ],
    [
      'a subject reference to an unknown type',
      { resourceType: 'Observation', subject: { reference: 'Patientt/p1' } },
      ['subject.reference'],
    ],
    [
      'a subject reference that is not a string',
      { resourceType: 'Observation', subject: { reference: 7 } },
      ['subject.reference'],
    ],
    ['an over-long id', { resourceType: 'Patient', id: 'a'.repeat(65) }, ['id']],
    ['an id of dots', { resourceType: 'Patient', id: '..' }, ['id']],
    [
      'a notification whose subscription is not a Subscription',
      {
        resourceType: 'Bundle',
        type: 'history',
        entry: [
          {
            resource: {
              resourceType: 'Parameters',
              parameter: [
                { name: 'subscription', valueReference: { reference: 'Patient/p1' } },
                { name: 'type', valueCode: 'heartbeat' },
              ],
            },
          },
        ],
      },
      ['entry.0.resource.parameter.0.valueReference'],
    ],
    [
      'a notification with an unknown type and a bad event number',
      {
        resourceType: 'Bundle',
        type: 'history',
        entry: [
          {
            resource: {
              resourceType: 'Parameters',
              parameter: [
                { name: 'subscription', valueReference: { reference: SUB_REF } },
                { name: 'type', valueCode: 'event' },
                { name: 'events-since-subscription-start', valueString: '-1' },
              ],
            },
          },
        ],
      },
      ['entry.0.resource.parameter.1.valueCode', 'entry.0.resource.parameter.2.valueString'],
    ],
    [
      'Parameters without subscription and type',
      {
        resourceType: 'Bundle',
        type: 'history',
        entry: [{ resource: { resourceType: 'Parameters', parameter: [{ name: 'status', valueCode: 'active' }] } }],
      },
      ['entry.0.resource.parameter', 'entry.0.resource.parameter'],
    ],
    [
      'an event number beyond 2^53',
      {
        resourceType: 'Bundle',
        type: 'subscription-notification',
        entry: [
          {
            resource: {
              resourceType: 'SubscriptionStatus',
              type: 'heartbeat',
              eventsSinceSubscriptionStart: '99999999999999999999',
              subscription: { reference: SUB_REF },
            },
          },
        ],
      },
      ['entry.0.resource.eventsSinceSubscriptionStart'],
    ],
  ])('%s -> 400 with expression paths', async (_label, body, expressions) => {
    const err = await rejection(parseNotification(post(body), tracker));
    expect(err.status).toBe(400);
    expect(err.outcome.resourceType).toBe('OperationOutcome');
    expect(err.outcome.issue).toEqual(invalid(...expressions));
  });

  it('an entry fullUrl with an invalid id -> 400 at entry.N.fullUrl', async () => {
    const body = backport('event-notification', 1, [{ n: 1 }], [{ fullUrl: 'https://x.org/fhir/Observation/bad id' }]);
    const err = await rejection(parseNotification(post(body), tracker));
    expect(err.outcome).toEqual({
      resourceType: 'OperationOutcome',
      issue: [
        {
          severity: 'error',
          code: 'invalid',
          details: { text: 'Invalid reference: unknown type or invalid id' },
          expression: ['entry.1.fullUrl'],
        },
      ],
    });
  });

  it.each([
    [
      'text/plain',
      'Unsupported media type: send application/fhir+json (or application/json+fhir, application/json) or an empty body',
    ],
    [
      'application/fhir+xml',
      'Unsupported media type: send application/fhir+json (or application/json+fhir, application/json) or an empty body',
    ],
    [
      'multipart/form-data; boundary=x',
      'Unsupported media type: send application/fhir+json (or application/json+fhir, application/json) or an empty body',
    ],
    ['application/fhir+json; charset=iso-8859-1', 'Unsupported charset: send UTF-8'],
  ])('content type %s -> 415', async (contentType, text) => {
    const err = await rejection(
      parseNotification(post({ resourceType: 'Patient', id: 'p1' }, {}, contentType), tracker),
    );
    expect(err.status).toBe(415);
    expect(err.outcome).toEqual({
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', code: 'not-supported', details: { text } }],
    });
  });

  it.each<[string | undefined]>([
    ['application/json'],
    ['application/fhir+json; fhirVersion=4.0'],
    ['APPLICATION/FHIR+JSON;charset=UTF-8'],
    [undefined],
  ])('content type %s is read as JSON', async (contentType) => {
    const result = await parseNotification(post({ resourceType: 'Patient', id: 'p1' }, {}, contentType), tracker);
    expect(result.jobs).toEqual([{ kind: 'assess-patient', patientId: 'p1' }]);
  });

  it('an empty body with a JSON content type is an empty notification', async () => {
    const result = await parseNotification(post(''), tracker);
    expect(result.jobs).toEqual([{ kind: 'catch-up', reason: 'empty-notification' }]);
  });

  it.each([
    [{ type: 'Spaceship', id: 'x1' }, 'Unknown resource type in the URL', 'type'],
    [{ type: 'Observation', id: 'a b' }, 'Invalid resource id in the URL', 'id'],
    [{ type: 'Observation', id: '..' }, 'Invalid resource id in the URL', 'id'],
    [{ type: 'Observation', id: 'x'.repeat(65) }, 'Invalid resource id in the URL', 'id'],
    [{ type: '__proto__', id: 'x' }, 'Unknown resource type in the URL', 'type'],
  ])('DELETE with path params %j -> 400', async (params, text, expression) => {
    const err = await rejection(
      parseNotification({ method: 'DELETE', params, headers: {}, rawBody: Buffer.alloc(0) }, tracker),
    );
    expect(err.status).toBe(400);
    expect(err.outcome.issue).toEqual([
      { severity: 'error', code: 'invalid', details: { text }, expression: [expression] },
    ]);
  });

  it('PUT whose body type or id differs from the URL -> 400', async () => {
    const put = (body: unknown) =>
      parseNotification({ ...post(body), method: 'PUT', params: { type: 'Observation', id: 'o1' } }, tracker);
    expect((await rejection(put({ resourceType: 'Patient', id: 'o1' }))).outcome.issue?.[0]).toMatchObject({
      details: { text: 'Resource type does not match the URL' },
      expression: ['resourceType'],
    });
    expect((await rejection(put({ resourceType: 'Observation', id: 'o2' }))).outcome.issue?.[0]).toMatchObject({
      details: { text: 'Resource id does not match the URL' },
      expression: ['id'],
    });
  });

  it('PUT with {} or a resource without a usable subject -> resolve by the URL', async () => {
    const put = (body: unknown) =>
      parseNotification({ ...post(body), method: 'PUT', params: { type: 'Observation', id: 'o1' } }, tracker);
    const resolve = [{ kind: 'resolve-resource', resourceType: 'Observation', id: 'o1', deleted: false }];
    expect((await put({})).jobs).toEqual(resolve);
    expect((await put({ resourceType: 'Observation', status: 'final' })).jobs).toEqual(resolve);
    expect((await put({ resourceType: 'Observation', subject: { reference: '#p' } })).jobs).toEqual(resolve);
  });

  it('Medplum delete with a malformed X-Medplum-Deleted-Resource -> 400', async () => {
    for (const header of ['Observation', 'Observation/a b', 'Nope/x', '../etc/passwd']) {
      const err = await rejection(
        parseNotification(
          post({}, { 'x-medplum-interaction': 'delete', 'x-medplum-deleted-resource': header }),
          tracker,
        ),
      );
      expect(err.status).toBe(400);
      expect(err.outcome.issue).toEqual([
        {
          severity: 'error',
          code: 'invalid',
          details: { text: 'X-Medplum-Deleted-Resource must be Type/id' },
          expression: ['X-Medplum-Deleted-Resource'],
        },
      ]);
    }
  });

  it('Medplum delete interaction without the header but with the resource body still resolves it', async () => {
    const result = await parseNotification(
      post({ resourceType: 'ImagingStudy', id: 'is-9' }, { 'x-medplum-interaction': 'delete' }),
      tracker,
    );
    expect(result.jobs).toEqual([
      { kind: 'resolve-resource', resourceType: 'ImagingStudy', id: 'is-9', deleted: true },
    ]);
  });

  it('a non-input resource type is accepted and queues nothing', async () => {
    for (const resourceType of ['Encounter', 'Provenance', 'Medication', 'SubscriptionStatus']) {
      const result = await parseNotification(post({ resourceType, id: 'x1' }), tracker);
      expect(result.jobs).toEqual([]);
      expect(result.reply.body.issue?.[0]?.details?.text).toBe('Notification accepted; nothing to assess');
    }
  });

  it('an Observation whose subject is a Group queues nothing', async () => {
    const result = await parseNotification(
      post({ resourceType: 'Observation', id: 'o1', subject: { reference: 'Group/g1' } }),
      tracker,
    );
    expect(result.jobs).toEqual([]);
  });
});

describe('parseNotification: hostile input', () => {
  const tracker = createInMemoryEventNumberTracker();

  it.each([
    ['{"resourceType":"Patient","id":"p1","__proto__":{"polluted":"yes"}}', '__proto__'],
    [
      '{"resourceType":"Patient","id":"p1","meta":{"constructor":{"prototype":{"polluted":"yes"}}}}',
      'meta.constructor',
    ],
    [
      '{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Patient","__proto__":{"polluted":1}}}]}',
      'entry.0.resource.__proto__',
    ],
    ['{"prototype":{"polluted":"yes"}}', 'prototype'],
  ])('%s -> 400 at %s, nothing polluted', async (text, path) => {
    const err = await rejection(parseNotification(post(text), tracker));
    expect(err.status).toBe(400);
    expect(err.outcome.issue).toEqual([
      { severity: 'error', code: 'invalid', details: { text: 'Forbidden property name' }, expression: [path] },
    ]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  it.each([
    ['arrays', (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`],
    ['objects', (n: number) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`],
  ])('deeply nested %s are refused without crashing', async (_label, make) => {
    for (const depth of [65, 10_000, 1_000_000]) {
      const err = await rejection(parseNotification(post(make(depth)), tracker));
      expect(err.status).toBe(400);
      expect(err.outcome.issue?.[0]?.details?.text).toBe('JSON nesting too deep');
    }
  });

  it('nesting within the limit is fine', async () => {
    const deepExtension = JSON.parse(`${'{"extension":['.repeat(20)}{}${']}'.repeat(20)}`);
    const result = await parseNotification(
      post({ resourceType: 'Patient', id: 'p1', extension: [deepExtension] }),
      tracker,
    );
    expect(result.jobs).toEqual([{ kind: 'assess-patient', patientId: 'p1' }]);
  });

  it('never echoes the body into the outcome', async () => {
    const secretish = 'John Doe 1970-01-01';
    const err = await rejection(parseNotification(post({ resourceType: secretish }), tracker));
    expect(JSON.stringify(err.outcome)).not.toContain(secretish);
  });
});

describe('parseNotification: event numbers (gaps, duplicates, handshakes)', () => {
  const obs = (id: string, patient: string) => ({
    fullUrl: `https://x.org/fhir/Observation/${id}`,
    resource: { resourceType: 'Observation', id, subject: { reference: `Patient/${patient}` } },
    request: { method: 'PUT', url: `Observation/${id}` },
  });

  it('the first notification ever seen for a subscription is not a gap', async () => {
    const tracker = createInMemoryEventNumberTracker();
    const result = await parseNotification(
      post(backport('event-notification', 40, [{ n: 40 }], [obs('o1', 'p1')])),
      tracker,
    );
    expect(result.jobs).toEqual([{ kind: 'assess-patient', patientId: 'p1' }]);
    expect(result.eventNumbers).toEqual([{ subscriptionId: 's1', eventNumber: 40 }]);
  });

  it('two events in one notification after the last seen: no gap', async () => {
    const tracker = createInMemoryEventNumberTracker({ s1: 4 });
    const body = backport('event-notification', 6, [{ n: 5 }, { n: 6 }], [obs('o5', 'p1'), obs('o6', 'p2')]);
    const result = await parseNotification(post(body), tracker);
    expect(result.jobs).toEqual([
      { kind: 'assess-patient', patientId: 'p1' },
      { kind: 'assess-patient', patientId: 'p2' },
    ]);
  });

  it('events-since-subscription-start past last + count: catch up from last + 1', async () => {
    const tracker = createInMemoryEventNumberTracker({ s1: 4 });
    const body = backport('event-notification', 8, [{ n: 7 }, { n: 8 }], [obs('o7', 'p1'), obs('o8', 'p1')]);
    const result = await parseNotification(post(body), tracker);
    expect(result.jobs).toEqual([
      { kind: 'assess-patient', patientId: 'p1' },
      { kind: 'catch-up', reason: 'event-gap', subscriptionId: 's1', sinceEventNumber: 5 },
    ]);
  });

  it('an empty notification after a gap gives one catch-up (event-gap wins, lowest since)', async () => {
    const tracker = createInMemoryEventNumberTracker({ s1: 2 });
    const result = await parseNotification(post(backport('event-notification', 5, [{ n: 5 }])), tracker);
    expect(result.jobs).toEqual([{ kind: 'catch-up', reason: 'event-gap', subscriptionId: 's1', sinceEventNumber: 3 }]);
  });

  it('the event last seen, delivered again, is a duplicate: 200, no jobs, no tracker write', async () => {
    const tracker = createInMemoryEventNumberTracker({ s1: 10 });
    const result = await parseNotification(
      post(backport('event-notification', 10, [{ n: 10 }], [obs('o1', 'p1')])),
      tracker,
    );
    expect(result.duplicate).toBe(true);
    expect(result.jobs).toEqual([]);
    expect(result.eventNumbers).toEqual([]);
    expect(result.reply.status).toBe(200);
    expect(result.reply.body.issue?.[0]?.details?.text).toBe('Duplicate notification ignored');
  });

  it('a lower number (the server restarted counting, or an old redelivery): its events, a catch-up, the number kept', async () => {
    const tracker = createInMemoryEventNumberTracker({ s1: 10 });
    const result = await parseNotification(
      post(backport('event-notification', 3, [{ n: 3 }], [obs('o1', 'p1')])),
      tracker,
    );
    expect(result.duplicate).toBe(false);
    expect(result.jobs).toEqual([
      { kind: 'assess-patient', patientId: 'p1' },
      { kind: 'catch-up', reason: 'counter-reset', subscriptionId: 's1' },
    ]);
    expect(result.eventNumbers).toEqual([{ subscriptionId: 's1', eventNumber: 3 }]);
  });

  it('the event number comes from notification-event when events-since-subscription-start is absent', async () => {
    const tracker = createInMemoryEventNumberTracker({ s1: 1 });
    const result = await parseNotification(
      post(backport('event-notification', undefined, [{ n: 4, focus: 'Observation/o4' }])),
      tracker,
    );
    expect(result.jobs).toEqual([
      { kind: 'resolve-resource', resourceType: 'Observation', id: 'o4', deleted: false },
      { kind: 'catch-up', reason: 'event-gap', subscriptionId: 's1', sinceEventNumber: 2 },
    ]);
    expect(result.eventNumbers).toEqual([{ subscriptionId: 's1', eventNumber: 4 }]);
  });

  it('a handshake with a lower count than last seen restarts the count (catch-up without a start number)', async () => {
    const tracker = createInMemoryEventNumberTracker({ s1: 9 });
    const result = await parseNotification(post(backport('handshake', 0, [])), tracker);
    expect(result.jobs).toEqual([{ kind: 'catch-up', reason: 'handshake', subscriptionId: 's1' }]);
    expect(result.eventNumbers).toEqual([{ subscriptionId: 's1', eventNumber: 0 }]);
  });

  it('a heartbeat for an unknown subscription records its count and queues nothing', async () => {
    const tracker = createInMemoryEventNumberTracker();
    const result = await parseNotification(post(backport('heartbeat', 3, [])), tracker);
    expect(result.jobs).toEqual([]);
    expect(result.eventNumbers).toEqual([{ subscriptionId: 's1', eventNumber: 3 }]);
  });

  it('query-status behaves like a heartbeat', async () => {
    const tracker = createInMemoryEventNumberTracker({ s1: 1 });
    const result = await parseNotification(post(backport('query-status', 2, [])), tracker);
    expect(result.jobs).toEqual([
      { kind: 'catch-up', reason: 'heartbeat-gap', subscriptionId: 's1', sinceEventNumber: 2 },
    ]);
    expect(result.reply.body.issue?.[0]?.details?.text).toBe('Subscription status accepted');
  });

  it('a tracker that fails -> 503', async () => {
    const broken: EventNumberTracker = {
      get: () => Promise.reject(new Error('db down')),
      set: () => Promise.resolve(),
    };
    const err = await rejection(parseNotification(post(backport('heartbeat', 3, [])), broken));
    expect(err.status).toBe(503);
    expect(err.outcome).toEqual({
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', code: 'transient', details: { text: 'Event number store unavailable' } }],
    });
  });

  it('R4B/R5 numeric event numbers (JSON numbers) are accepted too', async () => {
    const tracker = createInMemoryEventNumberTracker({ s1: 1 });
    const body = {
      resourceType: 'Bundle',
      type: 'subscription-notification',
      entry: [
        {
          resource: {
            resourceType: 'SubscriptionStatus',
            type: 'event-notification',
            eventsSinceSubscriptionStart: 2,
            notificationEvent: [{ eventNumber: 2, focus: { reference: 'Patient/p9' } }],
            subscription: { reference: 'Subscription/s1' },
          },
        },
      ],
    };
    const result = await parseNotification(post(body), tracker);
    expect(result.jobs).toEqual([{ kind: 'assess-patient', patientId: 'p9' }]);
  });
});
