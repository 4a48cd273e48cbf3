/**
 * The bound on one notification's work (src/intake/notification-bound.ts), through parseNotification: past
 * `maxPatients` entries, events or implied assessments, one `oversized` catch-up of the notification's subscription
 * instead; at the bound, one job each. The over-the-wire version (3,000 and 100,000 references, /healthz meanwhile)
 * is test/attack/oversized-notification.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { createInMemoryEventNumberTracker } from '../../src/intake/event-number-tracker.ts';
import { parseNotification, REPLY_TEXT } from '../../src/intake/parse-notification.ts';

const status = (events: number, focus: (i: number) => string | undefined) => ({
  fullUrl: 'urn:uuid:7b1c2b0e-0d1b-4c56-9a53-0f6f5a0a9e01',
  resource: {
    resourceType: 'Parameters',
    parameter: [
      { name: 'subscription', valueReference: { reference: 'Subscription/sub-b' } },
      { name: 'topic', valueCanonical: 'https://irecist-adapter.dev/fhir/SubscriptionTopic/irecist-inputs' },
      { name: 'status', valueCode: 'active' },
      { name: 'type', valueCode: 'event-notification' },
      { name: 'events-since-subscription-start', valueString: String(events) },
      ...Array.from({ length: events }, (_, i) => ({
        name: 'notification-event',
        part: [
          { name: 'event-number', valueString: String(i + 1) },
          ...(focus(i) ? [{ name: 'focus', valueReference: { reference: focus(i) } }] : []),
        ],
      })),
    ],
  },
});

const request = (body: unknown) => ({
  method: 'POST',
  params: {},
  headers: {},
  rawBody: Buffer.from(JSON.stringify(body)),
  contentType: 'application/fhir+json',
});

const backport = (patients: number, events = 1, focus: (i: number) => string | undefined = () => undefined) => ({
  resourceType: 'Bundle',
  type: 'history',
  entry: [
    status(events, focus),
    ...Array.from({ length: patients }, (_, i) => ({
      fullUrl: `http://h/Patient/p${i}`,
      request: { method: 'PUT', url: `Patient/p${i}` },
    })),
  ],
});

const oversized = [{ kind: 'catch-up', reason: 'oversized', subscriptionId: 'sub-b' }];

describe('one notification, bounded work', () => {
  it('entries: 100 -> one job each; 101 -> one catch-up, the event number still recorded', async () => {
    const at = await parseNotification(request(backport(100)), createInMemoryEventNumberTracker());
    expect(at.jobs).toHaveLength(100);
    const past = await parseNotification(request(backport(101)), createInMemoryEventNumberTracker());
    expect(past.jobs).toEqual(oversized);
    expect(past.eventNumbers).toEqual([{ subscriptionId: 'sub-b', eventNumber: 1 }]);
    expect(past.reply.body.issue?.[0]?.details?.text).toBe(REPLY_TEXT.oversized);
  });

  it('events: 150 focus events in the status -> one catch-up, the highest event number recorded', async () => {
    const body = backport(0, 150, (i) => `Patient/e${i}`);
    const parsed = await parseNotification(request(body), createInMemoryEventNumberTracker());
    expect(parsed.jobs).toEqual(oversized);
    expect(parsed.eventNumbers).toEqual([{ subscriptionId: 'sub-b', eventNumber: 150 }]);
  });

  it('implied assessments past the bound, entries within it: one catch-up', async () => {
    const body = backport(3, 1);
    const parsed = await parseNotification(request(body), createInMemoryEventNumberTracker(), { maxPatients: 2 });
    expect(parsed.jobs).toEqual(oversized);
  });

  it('a transaction past the bound: one catch-up without a subscription', async () => {
    const body = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: Array.from({ length: 5 }, (_, i) => ({
        resource: { resourceType: 'Patient', id: `t${i}` },
        request: { method: 'PUT', url: `Patient/t${i}` },
      })),
    };
    const parsed = await parseNotification(request(body), createInMemoryEventNumberTracker(), { maxPatients: 4 });
    expect(parsed.jobs).toEqual([{ kind: 'catch-up', reason: 'oversized' }]);
  });

  it('a duplicate stays a duplicate, whatever its size', async () => {
    const tracker = createInMemoryEventNumberTracker({ 'sub-b': 1 });
    const parsed = await parseNotification(request(backport(500)), tracker);
    expect(parsed.duplicate).toBe(true);
    expect(parsed.jobs).toEqual([]);
  });
});
