/**
 * Properties: whatever arrives, intake answers 200 or a 4xx OperationOutcome (never 5xx), and it queues jobs only for
 * a valid shape, each job naming only syntactically valid types and ids.
 */
import type { AddressInfo } from 'node:net';
import express from 'express';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isFhirId } from '../../src/fhir-model/ids.ts';
import { OutcomeError } from '../../src/fhir-model/outcomes.ts';
import { isKnownResourceType } from '../../src/fhir-model/resource-types.ts';
import { createInMemoryEventNumberTracker } from '../../src/intake/event-number-tracker.ts';
import type { JobIntent } from '../../src/intake/jobs.ts';
import { createNotificationsRouter } from '../../src/intake/notifications-router.ts';
import { parseNotification } from '../../src/intake/parse-notification.ts';

const SECRET = 'property-secret';

function jobIsWellFormed(job: JobIntent): boolean {
  switch (job.kind) {
    case 'assess-patient':
      return isFhirId(job.patientId);
    case 'resolve-resource':
      return isKnownResourceType(job.resourceType) && isFhirId(job.id) && typeof job.deleted === 'boolean';
    case 'catch-up':
      return (
        (job.subscriptionId === undefined || isFhirId(job.subscriptionId)) &&
        (job.sinceEventNumber === undefined || Number.isSafeInteger(job.sinceEventNumber))
      );
  }
}

async function outcomeOf(body: Buffer, contentType = 'application/fhir+json') {
  try {
    const result = await parseNotification(
      { method: 'POST', params: {}, headers: {}, rawBody: body, contentType },
      createInMemoryEventNumberTracker({ s1: 5 }),
    );
    return { status: result.reply.status, jobs: result.jobs };
  } catch (err) {
    if (!(err instanceof OutcomeError)) throw err;
    return { status: err.status, jobs: [] as JobIntent[] };
  }
}

// Bodies that look like notifications, with hostile or broken parts mixed in.
const id = fc.oneof(
  { weight: 8, arbitrary: fc.stringMatching(/^[A-Za-z0-9-]{1,64}$/) },
  { weight: 1, arbitrary: fc.string() },
  { weight: 1, arbitrary: fc.constantFrom('..', '__proto__', 'a/b', '') },
);
const type = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      'Patient',
      'Observation',
      'ImagingStudy',
      'MedicationAdministration',
      'BodyStructure',
      'DiagnosticReport',
    ),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom('Flag', 'Provenance', 'Encounter', 'Subscription', 'Spaceship', 'constructor', 'Bundle'),
  },
);
const reference = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(type, id).map(([t, i]) => `${t}/${i}`) },
  { weight: 2, arbitrary: fc.tuple(type, id).map(([t, i]) => `https://fhir.example.org/fhir/${t}/${i}/_history/1`) },
  { weight: 1, arbitrary: fc.constantFrom('urn:uuid:1', '#c', 'Patient?identifier=x') },
  { weight: 1, arbitrary: fc.string() },
);
const resource = fc.record(
  {
    resourceType: type,
    id,
    subject: fc.record({ reference }, { requiredKeys: [] }),
    patient: fc.record({ reference }),
    meta: fc.record({ profile: fc.array(fc.constantFrom('https://irecist-adapter.dev/fhir/x', 'http://other/x')) }),
  },
  { requiredKeys: ['resourceType'] },
);
const parameter = fc.oneof(
  fc.record({ name: fc.constant('subscription'), valueReference: fc.record({ reference }) }),
  fc.record({ name: fc.constant('type'), valueCode: fc.constantFrom('heartbeat', 'event-notification', 'x') }),
  fc.record({
    name: fc.constant('events-since-subscription-start'),
    valueString: fc.oneof(fc.nat().map(String), fc.string()),
  }),
  fc.record({
    name: fc.constant('notification-event'),
    part: fc.array(
      fc.oneof(
        fc.record({
          name: fc.constant('event-number'),
          valueString: fc.oneof(fc.nat({ max: 20 }).map(String), fc.string()),
        }),
        fc.record({ name: fc.constant('focus'), valueReference: fc.record({ reference }) }),
        fc.record({ name: fc.constant('additional-context'), valueReference: fc.record({ reference }) }),
      ),
    ),
  }),
);
const notificationType = fc.constantFrom('handshake', 'heartbeat', 'event-notification', 'query-status', 'x');
const statusParameters = fc
  .tuple(
    fc.oneof(
      fc.constant({
        name: 'subscription',
        valueReference: { reference: 'https://fhir.example.org/fhir/Subscription/s1' },
      }),
      parameter,
    ),
    fc.record({ name: fc.constant('type'), valueCode: notificationType }),
    fc.array(parameter, { maxLength: 3 }),
  )
  .map(([subscription, kind, rest]) => [subscription, kind, ...rest]);
const entry = fc.record(
  {
    fullUrl: reference,
    resource,
    request: fc.record({
      method: fc.oneof(
        { weight: 9, arbitrary: fc.constantFrom('POST', 'PUT', 'DELETE', 'GET') },
        { weight: 1, arbitrary: fc.constant('NOPE') },
      ),
      url: reference,
    }),
  },
  { requiredKeys: [] },
);
const bundle = fc.record({
  resourceType: fc.constant('Bundle'),
  type: fc.constantFrom('history', 'subscription-notification', 'transaction', 'batch', 'searchset'),
  entry: fc.oneof(
    fc
      .tuple(
        fc.record({ resource: fc.record({ resourceType: fc.constant('Parameters'), parameter: statusParameters }) }),
        fc.array(entry, { maxLength: 3 }),
      )
      .map(([first, rest]) => [first, ...rest]),
    fc.array(entry, { maxLength: 3 }),
  ),
});
const notificationLike = fc.oneof(resource, bundle, fc.constant({}));

describe('properties of parseNotification', () => {
  it('arbitrary JSON: 200 or 400, jobs only on 200, every job well-formed', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), async (value) => {
        const { status, jobs } = await outcomeOf(Buffer.from(JSON.stringify(value)));
        expect([200, 400]).toContain(status);
        if (status !== 200) expect(jobs).toEqual([]);
        expect(jobs.every(jobIsWellFormed)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('notification-like JSON with hostile parts: never 5xx, jobs only when valid and well-formed', async () => {
    await fc.assert(
      fc.asyncProperty(notificationLike, async (value) => {
        const { status, jobs } = await outcomeOf(Buffer.from(JSON.stringify(value)));
        expect([200, 400]).toContain(status);
        if (status !== 200) expect(jobs).toEqual([]);
        expect(jobs.every(jobIsWellFormed)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it('arbitrary bytes and content types: never 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 256 }),
        fc.constantFrom(
          'application/json',
          'application/fhir+json',
          'text/plain',
          '',
          'application/x-www-form-urlencoded',
        ),
        async (bytes, contentType) => {
          const { status } = await outcomeOf(Buffer.from(bytes), contentType);
          expect([200, 400, 415]).toContain(status);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('property of the HTTP endpoint', () => {
  const calls: JobIntent[][] = [];
  let url = '';
  let close: () => Promise<void> = async () => {};
  beforeAll(async () => {
    const app = express();
    app.use(
      createNotificationsRouter({
        secret: SECRET,
        tracker: createInMemoryEventNumberTracker(),
        enqueue: async (jobs) => {
          calls.push(jobs);
        },
      }),
    );
    const server = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/notifications`;
    close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  });
  afterAll(() => close());

  it('arbitrary authenticated JSON bodies: never 5xx, enqueue only on 200', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.jsonValue(), notificationLike), async (value) => {
        const before = calls.length;
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/fhir+json', authorization: `Bearer ${SECRET}` },
          body: JSON.stringify(value),
        });
        const body = (await res.json()) as { resourceType?: string; type?: string };
        expect(res.status).toBeLessThan(500);
        // A Bundle only to an accepted topic-based or transaction delivery (bundle-reply.ts).
        if (body.resourceType === 'Bundle')
          expect([res.status, body.type]).toEqual([200, expect.stringMatching(/-response$/)]);
        else expect(body.resourceType).toBe('OperationOutcome');
        if (res.status !== 200) expect(calls.length).toBe(before);
        for (const jobs of calls.slice(before)) expect(jobs.every(jobIsWellFormed)).toBe(true);
      }),
      { numRuns: 150 },
    );
  });
});
