/**
 * One notification cannot queue unbounded work (issue 12 item 5), against the real service over HTTP (startAdapter on
 * PostgreSQL, NOTIFICATION_MAX_PATIENTS at its default of 100):
 * - 3,000 and 100,000 patient references in one authenticated Backport notification queue one catch-up, not a job
 *   per patient; the event number is still recorded;
 * - /healthz keeps answering while the 100,000-reference notification is taken in (a responsiveness check: the entries
 *   past the bound are never schema-checked, so the event loop is not held for seconds);
 * - 100 references (the bound) are still queued one job each;
 * - jobs are queued under their sender, so a second sender's patient runs ahead of the first sender's backlog.
 */
import type { Bundle } from '@medplum/fhirtypes';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningService } from '../../src/service/start-service.ts';
import {
  dropSchema,
  POSTGRES_URL,
  type SandboxServer,
  startAdapter,
  startSandboxServer,
  uniqueSchema,
  WEBHOOK_SECRET,
} from '../e2e/harness.ts';
import { type IntakeCalls, recordIntakeCalls } from './intake-calls.ts';

let fhir: SandboxServer;
let adapter: RunningService;
let schema: string;
let intake: IntakeCalls;

beforeAll(async () => {
  fhir = await startSandboxServer();
  schema = uniqueSchema('oversized');
  // Workers held back (concurrency 1, long throttle) matter little: the test reads what was queued, not what ran.
  adapter = await startAdapter({ fhirBaseUrl: fhir.baseUrl, schema });
  intake = recordIntakeCalls(adapter.queue);
});

afterAll(async () => {
  await adapter?.close();
  await fhir?.close();
  if (schema) await dropSchema(schema);
});

/** A Backport (R4) event notification of `subscription` naming `count` patients by reference, as HAPI sends one. */
function notification(subscription: string, eventNumber: number, count: number, prefix: string): Bundle {
  const base = 'https://fhir.example.org/fhir';
  return {
    resourceType: 'Bundle',
    type: 'history',
    entry: [
      {
        fullUrl: `urn:uuid:${crypto.randomUUID()}`,
        resource: {
          resourceType: 'Parameters',
          parameter: [
            { name: 'subscription', valueReference: { reference: `${base}/Subscription/${subscription}` } },
            { name: 'topic', valueCanonical: 'https://irecist-adapter.dev/fhir/SubscriptionTopic/irecist-inputs' },
            { name: 'status', valueCode: 'active' },
            { name: 'type', valueCode: 'event-notification' },
            { name: 'events-since-subscription-start', valueString: String(eventNumber) },
            { name: 'notification-event', part: [{ name: 'event-number', valueString: String(eventNumber) }] },
          ],
        },
        request: { method: 'GET', url: `${base}/Subscription/${subscription}/$status` },
        response: { status: '200' },
      },
      // Compact entries (fullUrl and request only), so 100,000 fit in the 10 MiB body limit.
      ...Array.from({ length: count }, (_, i) => ({
        fullUrl: `http://h/Patient/${prefix}-${i}`,
        request: { method: 'PUT' as const, url: `Patient/${prefix}-${i}` },
      })),
    ],
  };
}

async function post(body: string) {
  const before = intake.calls.length;
  const res = await fetch(`${adapter.url}/notifications`, {
    method: 'POST',
    headers: { 'content-type': 'application/fhir+json', authorization: `Bearer ${WEBHOOK_SECRET}` },
    body,
  });
  await res.text();
  return { status: res.status, queued: intake.calls.slice(before) };
}

describe('a bound on the patients one notification may name', () => {
  it('3,000 references: one catch-up of the subscription, the event number recorded', async () => {
    const answer = await post(JSON.stringify(notification('sub-3000', 7, 3_000, 'p3k')));
    expect(answer.status).toBe(200);
    expect(answer.queued).toEqual([[{ kind: 'catch-up', reason: 'oversized', subscriptionId: 'sub-3000' }]]);
    expect(await adapter.state.get('event-number:sub-3000')).toBe(7);
  });

  it('100,000 references: one catch-up, and /healthz answers meanwhile', async () => {
    const body = JSON.stringify(notification('sub-100k', 1, 100_000, 'q'));
    let done = false;
    const latencies: number[] = [];
    const probe = (async () => {
      while (!done) {
        const started = performance.now();
        const res = await fetch(`${adapter.url}/healthz`);
        await res.text();
        latencies.push(performance.now() - started);
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    const answer = await post(body);
    done = true;
    await probe;
    expect(answer.status).toBe(200);
    expect(answer.queued).toEqual([[{ kind: 'catch-up', reason: 'oversized', subscriptionId: 'sub-100k' }]]);
    // A responsiveness check with a generous bound (the target is 100 ms; it took 7.4 s before the bound).
    expect(Math.max(...latencies)).toBeLessThan(1_000);
  });

  it('100 references (the bound): one job each', async () => {
    const answer = await post(JSON.stringify(notification('sub-100', 1, 100, 'p100')));
    expect(answer.status).toBe(200);
    expect(answer.queued.flat()).toHaveLength(100);
  });
});

describe('fairness across senders', () => {
  it("a second sender's patient is queued ahead of the first sender's backlog", async () => {
    await post(JSON.stringify(notification('sender-a', 1, 100, 'fair-a')));
    await post(JSON.stringify(notification('sender-b', 1, 1, 'fair-b')));
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    try {
      const { rows } = await client.query<{ patient: string; priority: number }>(
        `SELECT data->>'patientId' AS patient, priority FROM "${schema}".job WHERE data->>'patientId' LIKE 'fair-%'`,
      );
      const priority = (p: string) => rows.find((r) => r.patient === p)?.priority;
      expect(rows).toHaveLength(101);
      // Workers take the highest priority first: B's one job outranks all but A's first.
      expect(priority('fair-b-0')).toBeGreaterThan(priority('fair-a-1') as number);
      expect(priority('fair-b-0')).toBeGreaterThan(priority('fair-a-99') as number);
    } finally {
      await client.end();
    }
  });
});
