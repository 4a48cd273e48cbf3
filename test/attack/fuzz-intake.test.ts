/**
 * Property-based fuzzing of the notification intake over real HTTP: the whole service (startAdapter, PostgreSQL,
 * the sandbox FHIR server on its own port), every request correctly authenticated (bearer or X-Signature) so the
 * parser is really reached. Whatever the body — arbitrary JSON, FHIR-shaped notifications with hostile parts, numbers
 * past IEEE 754, nesting 100,000 deep, lone surrogates, prototype-pollution keys at any depth, invalid UTF-8 — the
 * answer comes in time, is never a 5xx, is always a FHIR OperationOutcome, and a refusal queues nothing. Afterwards the
 * built-in prototypes are untouched and the service still assesses a good notification.
 *
 * Seeded: FUZZ_SEED re-runs a failure, FUZZ_RUNS makes a longer drill (test/attack/fuzz-settings.ts).
 */
import { createHmac } from 'node:crypto';
import type { Resource } from '@medplum/fhirtypes';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobRequest } from '../../src/queue/job-queue.ts';
import type { RunningService } from '../../src/service/start-service.ts';
import { expectAssessed, expectedOutcome, loadCase, loadCases, serverOutcome } from '../e2e/cases.ts';
import {
  dropSchema,
  type SandboxServer,
  startAdapter,
  startSandboxServer,
  uniqueSchema,
  WEBHOOK_SECRET,
  waitFor,
} from '../e2e/harness.ts';
import { announceSeed, fuzz, propertyTimeout } from './fuzz-settings.ts';
import {
  deepNesting,
  FORBIDDEN_KEYS,
  hasForbiddenKey,
  hostileLeaf,
  hostileNumber,
  hostileString,
  nestingDepth,
  pairs,
  pollutionSeen,
  prototypeSnapshot,
  raw,
  toJsonText,
} from './hostile-json.ts';
import { type IntakeCalls, recordIntakeCalls } from './intake-calls.ts';

/** Longest any one answer may take before it counts as a hang (a 1 MB body on a busy 2-core machine included). */
const REQUEST_TIMEOUT_MS = 15_000;
const MAX_JSON_DEPTH = 64;

let fhir: SandboxServer;
let adapter: RunningService;
let schema: string;
/** Every call the intake made to the queue (test/attack/intake-calls.ts). */
let intake: IntakeCalls;
const prototypesBefore = prototypeSnapshot();

beforeAll(async () => {
  announceSeed('fuzz-intake');
  fhir = await startSandboxServer();
  schema = uniqueSchema('fuzz_intake');
  adapter = await startAdapter({ fhirBaseUrl: fhir.baseUrl, schema });
  intake = recordIntakeCalls(adapter.queue);
});

afterAll(async () => {
  await adapter?.close();
  await fhir?.close();
  if (schema) await dropSchema(schema);
});

// ---------------------------------------------------------------------------------------------------------------
// Sending

type Auth = 'bearer' | 'signature';

interface Attempt {
  method: 'POST' | 'PUT' | 'DELETE';
  path: string;
  headers: Record<string, string>;
  body: Buffer;
  auth: Auth;
}

interface Answer {
  status: number;
  contentType: string | null;
  json: unknown;
  /** Queue calls made while this request was handled. */
  queued: JobRequest[][];
}

function authHeaders(auth: Auth, body: Buffer): Record<string, string> {
  return auth === 'bearer'
    ? { authorization: `Bearer ${WEBHOOK_SECRET}` }
    : { 'x-signature': createHmac('sha256', WEBHOOK_SECRET).update(body).digest('hex') };
}

async function send(attempt: Attempt): Promise<Answer> {
  const before = intake.calls.length;
  const res = await fetch(`${adapter.url}${attempt.path}`, {
    method: attempt.method,
    headers: { ...attempt.headers, ...authHeaders(attempt.auth, attempt.body) },
    ...(attempt.body.length > 0 ? { body: attempt.body } : {}),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = `not JSON: ${text.slice(0, 200)}`;
  }
  return { status: res.status, contentType: res.headers.get('content-type'), json, queued: intake.calls.slice(before) };
}

/** The OperationOutcome of an answer: the body, or the one entry's outcome of a Bundle reply (bundle-reply.ts). */
function outcomeOf(answer: Answer): { resourceType?: unknown; issue?: { severity?: unknown; code?: unknown }[] } {
  const body = answer.json as {
    resourceType?: unknown;
    type?: unknown;
    entry?: { response?: { outcome?: unknown } }[];
  };
  if (body.resourceType !== 'Bundle') return body as ReturnType<typeof outcomeOf>;
  // Only an accepted topic-based or transaction delivery is answered with a Bundle (HAPI parses one).
  expect(answer.status).toBe(200);
  expect(['batch-response', 'transaction-response']).toContain(body.type);
  return (body.entry?.[0]?.response?.outcome ?? {}) as ReturnType<typeof outcomeOf>;
}

/** What every answer must be: in time (send's timeout), no 5xx, authenticated, a FHIR OperationOutcome (or a Bundle of one). */
function expectWellFormed(answer: Answer): void {
  expect(answer.status, JSON.stringify(answer.json)).toBeLessThan(500);
  expect(answer.status, 'an authenticated request was refused as unauthenticated').not.toBe(401);
  expect(answer.contentType).toBe('application/fhir+json; charset=utf-8');
  const outcome = outcomeOf(answer);
  expect(outcome.resourceType).toBe('OperationOutcome');
  expect(Array.isArray(outcome.issue) && outcome.issue.length > 0).toBe(true);
  for (const issue of outcome.issue ?? []) {
    expect(['fatal', 'error', 'warning', 'information']).toContain(issue.severity);
    expect(typeof issue.code).toBe('string');
  }
  if (answer.status >= 400) {
    expect(answer.queued, 'a refused notification queued jobs').toEqual([]);
    expect(outcome.issue?.[0]?.severity).toBe('error');
  } else {
    expect([200, 202]).toContain(answer.status);
  }
}

const JSON_TYPE = { 'content-type': 'application/fhir+json' };
const post = (body: string | Buffer, auth: Auth, headers: Record<string, string> = JSON_TYPE): Attempt => ({
  method: 'POST',
  path: '/notifications',
  headers,
  body: Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8'),
  auth,
});
const auth = fc.constantFrom<Auth>('bearer', 'signature');

// ---------------------------------------------------------------------------------------------------------------
// FHIR-shaped notifications with hostile parts

const INPUT_TYPES = ['Patient', 'Observation', 'ImagingStudy', 'MedicationAdministration', 'BodyStructure'] as const;
const idLike = fc.oneof(
  { weight: 6, arbitrary: fc.stringMatching(/^[A-Za-z0-9\-.]{1,64}$/) },
  { weight: 2, arbitrary: hostileString },
  { weight: 1, arbitrary: fc.constantFrom('..', '.', 'a'.repeat(65), ...FORBIDDEN_KEYS, 'toString', 'hasOwnProperty') },
  { weight: 1, arbitrary: hostileNumber },
);
const typeName = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom(...INPUT_TYPES, 'DiagnosticReport') },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'Flag',
      'Provenance',
      'Subscription',
      'SubscriptionStatus',
      'Parameters',
      'Bundle',
      'Spaceship',
      'Object',
      'toString',
      'hasOwnProperty',
      'valueOf',
      ...FORBIDDEN_KEYS,
    ),
  },
  { weight: 1, arbitrary: hostileString },
);
const reference = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(typeName, idLike).map(([t, i]) => `${t}/${typeof i === 'string' ? i : 'x'}`) },
  {
    weight: 2,
    arbitrary: fc.tuple(typeName, idLike).map(([t, i]) => `https://fhir.example.org/R4/${t}/${i}/_history/2`),
  },
  { weight: 1, arbitrary: fc.constantFrom('urn:uuid:0', '#c1', 'Patient?identifier=x|1', 'Patient/', '/', '') },
  { weight: 1, arbitrary: hostileString },
);
const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  { weight: 3, arbitrary: hostileLeaf },
);
const fieldName = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      'resourceType',
      'id',
      'subject',
      'patient',
      'meta',
      'identifier',
      'focus',
      'status',
      'code',
      'entry',
      'type',
      'parameter',
      'request',
      'fullUrl',
      'valueReference',
      'reference',
    ),
  },
  { weight: 2, arbitrary: fc.constantFrom(...FORBIDDEN_KEYS) },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
);
const extraFields = fc.array(fc.tuple(fieldName, anyValue), { maxLength: 3 });
const referenceValue = fc.oneof(
  { weight: 5, arbitrary: reference.map((r) => ({ reference: r })) },
  { weight: 1, arbitrary: anyValue },
);

const resource = fc
  .record({
    type: typeName,
    id: fc.option(idLike, { nil: undefined }),
    subject: fc.option(referenceValue, { nil: undefined }),
    patient: fc.option(referenceValue, { nil: undefined }),
    meta: fc.option(
      fc.oneof(
        fc.constant({ profile: ['https://irecist-adapter.dev/fhir/StructureDefinition/response-assessment-report'] }),
        anyValue.map((profile) => ({ profile })),
      ),
      { nil: undefined },
    ),
    extra: extraFields,
  })
  .map(({ type, id, subject, patient, meta, extra }) =>
    pairs([
      ['resourceType', type],
      ...(id === undefined ? [] : [['id', id] as [string, unknown]]),
      ...(subject === undefined ? [] : [['subject', subject] as [string, unknown]]),
      ...(patient === undefined ? [] : [['patient', patient] as [string, unknown]]),
      ...(meta === undefined ? [] : [['meta', meta] as [string, unknown]]),
      ...extra,
    ]),
  );

const subscriptionRef = fc.oneof(
  { weight: 4, arbitrary: idLike.map((i) => ({ reference: `Subscription/${typeof i === 'string' ? i : 's'}` })) },
  { weight: 1, arbitrary: referenceValue },
);
const notificationType = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('handshake', 'heartbeat', 'event-notification', 'query-status') },
  { weight: 1, arbitrary: hostileString },
);
const eventNumber = fc.oneof(
  { weight: 3, arbitrary: fc.nat({ max: 50 }).map(String) },
  { weight: 1, arbitrary: fc.nat({ max: 50 }) },
  { weight: 2, arbitrary: hostileNumber },
  { weight: 1, arbitrary: hostileString },
);
const numberKey = fc.constantFrom(
  'valueString',
  'valueUnsignedInt',
  'valuePositiveInt',
  'valueInteger',
  'valueInteger64',
  'valueDecimal',
  'valueCode',
);
const parameter = fc.oneof(
  subscriptionRef.map((v) =>
    pairs([
      ['name', 'subscription'],
      ['valueReference', v],
    ]),
  ),
  notificationType.map((t) =>
    pairs([
      ['name', 'type'],
      ['valueCode', t],
    ]),
  ),
  fc.tuple(numberKey, eventNumber).map(([k, n]) =>
    pairs([
      ['name', 'events-since-subscription-start'],
      [k, n],
    ]),
  ),
  fc
    .array(
      fc.oneof(
        fc.tuple(numberKey, eventNumber).map(([k, n]) =>
          pairs([
            ['name', 'event-number'],
            [k, n],
          ]),
        ),
        referenceValue.map((v) =>
          pairs([
            ['name', 'focus'],
            ['valueReference', v],
          ]),
        ),
        referenceValue.map((v) =>
          pairs([
            ['name', 'additional-context'],
            ['valueReference', v],
          ]),
        ),
        extraFields.map((extra) => pairs([['name', 'timestamp'], ...extra])),
      ),
      { maxLength: 4 },
    )
    .map((part) =>
      pairs([
        ['name', 'notification-event'],
        ['part', part],
      ]),
    ),
  fc.tuple(fc.string({ maxLength: 10 }), anyValue).map(([name, v]) =>
    pairs([
      ['name', name],
      ['valueString', v],
    ]),
  ),
);
const parametersStatus = fc.array(parameter, { minLength: 0, maxLength: 6 }).map((parameter) =>
  pairs([
    ['resourceType', 'Parameters'],
    ['parameter', parameter],
  ]),
);
const subscriptionStatus = fc
  .record({
    type: notificationType,
    since: fc.option(eventNumber, { nil: undefined }),
    events: fc.array(
      fc.record({ eventNumber, focus: fc.option(referenceValue, { nil: undefined }), extra: extraFields }),
      { maxLength: 3 },
    ),
    subscription: subscriptionRef,
  })
  .map(({ type, since, events, subscription }) =>
    pairs([
      ['resourceType', 'SubscriptionStatus'],
      ['type', type],
      ...(since === undefined ? [] : [['eventsSinceSubscriptionStart', since] as [string, unknown]]),
      [
        'notificationEvent',
        events.map((e) =>
          pairs([
            ['eventNumber', e.eventNumber],
            ...(e.focus === undefined ? [] : [['focus', e.focus] as [string, unknown]]),
            ...e.extra,
          ]),
        ),
      ],
      ['subscription', subscription],
    ]),
  );
const entryRequest = fc.record({
  method: fc.oneof(fc.constantFrom('POST', 'PUT', 'DELETE', 'GET', 'PATCH'), hostileString),
  url: fc.oneof(reference, hostileString),
});
const entry = fc
  .record({
    fullUrl: fc.option(fc.oneof(reference, anyValue), { nil: undefined }),
    resource: fc.option(fc.oneof({ weight: 5, arbitrary: resource }, { weight: 1, arbitrary: anyValue }), {
      nil: undefined,
    }),
    request: fc.option(entryRequest, { nil: undefined }),
    extra: extraFields,
  })
  .map(({ fullUrl, resource: r, request, extra }) =>
    pairs([
      ...(fullUrl === undefined ? [] : [['fullUrl', fullUrl] as [string, unknown]]),
      ...(r === undefined ? [] : [['resource', r] as [string, unknown]]),
      ...(request === undefined ? [] : [['request', request] as [string, unknown]]),
      ...extra,
    ]),
  );
const bundle = fc
  .record({
    type: fc.oneof(
      { weight: 5, arbitrary: fc.constantFrom('history', 'subscription-notification', 'transaction', 'batch') },
      { weight: 2, arbitrary: fc.constantFrom('collection', 'searchset', 'document', 'message') },
      { weight: 1, arbitrary: anyValue },
    ),
    first: fc.oneof(
      { weight: 3, arbitrary: parametersStatus.map((r) => pairs([['resource', r]])) },
      { weight: 2, arbitrary: subscriptionStatus.map((r) => pairs([['resource', r]])) },
      { weight: 2, arbitrary: entry },
    ),
    rest: fc.array(entry, { maxLength: 4 }),
    extra: extraFields,
  })
  .map(({ type, first, rest, extra }) =>
    pairs([['resourceType', 'Bundle'], ['type', type], ['entry', [first, ...rest]], ...extra]),
  );

/** Every UTF-8 byte percent-encoded (lone surrogates become U+FFFD); a few raw malformed escapes too. */
function percentEncoded(segment: string): string {
  if (segment === '%') return '%ZZ';
  if (segment === '') return '%ED%A0%80'; // a surrogate's bytes: decodes to no valid string
  return [...Buffer.from(segment, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
}

/** A header value fetch will send (printable ASCII; the rest replaced). */
const headerSafe = (value: string): string => value.replace(/[^\x20-\x7e]/g, '?').slice(0, 200);

/** Where and how a FHIR-shaped body is sent: Medplum POST (also its delete form), HAPI PUT and DELETE. */
const shapedAttempt = fc
  .record({
    body: fc.oneof(
      { weight: 3, arbitrary: bundle },
      { weight: 2, arbitrary: resource },
      { weight: 1, arbitrary: anyValue },
    ),
    route: fc.constantFrom('post', 'post', 'post', 'post', 'medplum-delete', 'put', 'delete'),
    pathType: typeName,
    pathId: idLike.map((i) => (typeof i === 'string' ? i : 'x')),
    deleted: fc.oneof(reference, hostileString),
    contentType: fc.constantFrom(
      'application/fhir+json',
      'application/json; charset=utf-8',
      'application/fhir+json;charset=UTF8',
    ),
    auth,
  })
  .map(({ body, route, pathType, pathId, deleted, contentType, auth: a }) => {
    const bytes = Buffer.from(toJsonText(body), 'utf8');
    const headers: Record<string, string> = { 'content-type': contentType };
    if (route === 'medplum-delete') {
      headers['x-medplum-interaction'] = 'delete';
      headers['x-medplum-deleted-resource'] = headerSafe(deleted);
    }
    const itemPath = `/notifications/${percentEncoded(pathType)}/${percentEncoded(pathId)}`;
    const attempt: Attempt =
      route === 'put' || route === 'delete'
        ? { method: route === 'put' ? 'PUT' : 'DELETE', path: itemPath, headers, body: bytes, auth: a }
        : { method: 'POST', path: '/notifications', headers, body: bytes, auth: a };
    return attempt;
  });

// ---------------------------------------------------------------------------------------------------------------
// Notifications that must be accepted: a valid core with harmless extra fields

const fhirId = fc.stringMatching(/^[A-Za-z0-9-]{1,40}$/);
const RESERVED = new Set(['resourceType', 'id', 'meta', 'identifier', 'subject', 'patient', ...FORBIDDEN_KEYS]);
const harmlessExtras = fc
  .dictionary(
    fc.stringMatching(/^[a-z][A-Za-z]{2,15}$/).filter((k) => !RESERVED.has(k)),
    fc.jsonValue({ maxDepth: 3 }).filter((v) => !hasForbiddenKey(v)),
    { maxKeys: 4 },
  )
  .filter((extras) => Object.keys(extras).every((k) => !RESERVED.has(k)));

let counter = 0;
const validNotification = fc
  .record({
    shape: fc.constantFrom('medplum', 'backport', 'transaction'),
    type: fc.constantFrom('Observation', 'ImagingStudy', 'MedicationAdministration', 'DiagnosticReport'),
    id: fhirId,
    patientId: fhirId,
    extras: harmlessExtras,
    auth,
  })
  .map(({ shape, type, id, patientId, extras, auth: a }) => {
    const n = ++counter;
    // A version id, as every Medplum body has: two runs never send the same signed bytes (that would be a replay).
    const resource = {
      ...extras,
      resourceType: type,
      id,
      meta: { versionId: String(n) },
      subject: { reference: `Patient/${patientId}` },
    };
    let body: unknown = resource;
    if (shape === 'transaction') {
      body = {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [{ fullUrl: `urn:uuid:${n}`, resource, request: { method: 'PUT', url: `${type}/${id}` } }],
      };
    } else if (shape === 'backport') {
      body = {
        resourceType: 'Bundle',
        type: 'history',
        entry: [
          {
            resource: {
              resourceType: 'Parameters',
              parameter: [
                { name: 'subscription', valueReference: { reference: `Subscription/fuzz-${n}` } },
                { name: 'type', valueCode: 'event-notification' },
                { name: 'events-since-subscription-start', valueString: '1' },
                {
                  name: 'notification-event',
                  part: [
                    { name: 'event-number', valueString: '1' },
                    { name: 'focus', valueReference: { reference: `${type}/${id}` } },
                  ],
                },
              ],
            },
          },
          { fullUrl: `https://fhir.example.org/R4/${type}/${id}`, resource },
        ],
      };
    }
    return { attempt: post(JSON.stringify(body), a), patientId };
  });

// ---------------------------------------------------------------------------------------------------------------

describe('fuzzing the notification intake over HTTP', () => {
  it(
    'arbitrary JSON values: never a 5xx, always an OperationOutcome, nothing queued when refused',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.jsonValue(), auth, async (value, a) => {
          expectWellFormed(await send(post(JSON.stringify(value), a)));
        }),
        fuzz(250),
      );
    },
    propertyTimeout(60_000),
  );

  it(
    'arbitrary JavaScript values, serialised: the same',
    async () => {
      const anything = fc.anything({
        withBoxedValues: true,
        withMap: true,
        withSet: true,
        withDate: true,
        withTypedArray: true,
        withSparseArray: true,
        withNullPrototype: true,
        withObjectString: true,
      });
      await fc.assert(
        fc.asyncProperty(anything, auth, async (value, a) => {
          const text = JSON.stringify(value) ?? '';
          expectWellFormed(await send(post(text, a)));
        }),
        fuzz(150),
      );
    },
    propertyTimeout(60_000),
  );

  it(
    'FHIR-shaped notifications with hostile parts, on every route: well-formed answers; pollution keys and deep nesting always refused',
    async () => {
      await fc.assert(
        fc.asyncProperty(shapedAttempt, async (attempt) => {
          const answer = await send(attempt);
          expectWellFormed(answer);
          // DELETE bodies are never read; a PUT path the URL parser folds (`%2e%2e`) reaches no item route (404/405).
          const parsed = JSON.parse(attempt.body.toString('utf8')) as unknown;
          if (attempt.method !== 'DELETE' && (hasForbiddenKey(parsed) || nestingDepth(parsed) > MAX_JSON_DEPTH))
            expect(attempt.method === 'POST' ? [400] : [400, 404, 405]).toContain(answer.status);
        }),
        fuzz(700),
      );
    },
    propertyTimeout(90_000),
  );

  it(
    'valid notifications with harmless extra fields are accepted and queue their patient',
    async () => {
      await fc.assert(
        fc.asyncProperty(validNotification, async ({ attempt, patientId }) => {
          const answer = await send(attempt);
          expectWellFormed(answer);
          expect(answer.status).toBe(200);
          expect(answer.queued.flat()).toContainEqual({ kind: 'assess-patient', patientId });
        }),
        fuzz(150),
      );
    },
    propertyTimeout(60_000),
  );

  it(
    'raw bytes (invalid UTF-8, lone surrogate bytes, BOMs, NUL) under any content type: never a 5xx',
    async () => {
      const bytes = fc.oneof(
        fc.uint8Array({ maxLength: 512 }),
        fc.constantFrom(
          Buffer.from([0xed, 0xa0, 0x80]), // a UTF-16 surrogate encoded as UTF-8 (CESU): invalid UTF-8
          Buffer.from([0xc0, 0xaf]), // overlong '/'
          Buffer.from([0xff, 0xfe, 0x7b, 0x00, 0x7d, 0x00]), // UTF-16LE '{}' with its BOM
          Buffer.from('\ufeff{"resourceType":"Patient","id":"bom"}', 'utf8'),
          Buffer.from('{"resourceType":"Patient","id":"p\u0000"}', 'utf8'),
          Buffer.from('{"resourceType":"Patient"\u0000,"id":"x"}', 'utf8'),
        ),
        fc
          .tuple(fc.jsonValue({ maxDepth: 2 }), fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 4 }))
          .map(([v, at, junk]) => {
            const text = Buffer.from(JSON.stringify(v) ?? 'null');
            const cut = at % (text.length + 1);
            return Buffer.concat([text.subarray(0, cut), junk, text.subarray(cut)]);
          }),
      );
      const contentType = fc.constantFrom(
        'application/fhir+json',
        'application/json',
        'application/json; charset=latin1',
        'application/x-www-form-urlencoded',
        'text/plain',
        'multipart/form-data; boundary=x',
        '',
        '*/*',
        'application/fhir+json; charset="utf-8"',
      );
      await fc.assert(
        fc.asyncProperty(bytes, contentType, auth, async (body, type, a) => {
          expectWellFormed(await send(post(Buffer.from(body), a, type ? { 'content-type': type } : {})));
        }),
        fuzz(150),
      );
    },
    propertyTimeout(60_000),
  );

  it(
    'nesting up to 100,000 deep, alone or inside a notification: refused with 400, quickly, without a stack overflow',
    async () => {
      const inside = fc.tuple(deepNesting, fc.constantFrom('resource', 'bundle', 'parameter')).map(([deep, where]) => {
        if (where === 'resource') return `{"resourceType":"Patient","id":"p1","extension":${deep}}`;
        if (where === 'bundle') return `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":${deep}}]}`;
        return `{"resourceType":"Bundle","type":"history","entry":[{"resource":{"resourceType":"Parameters","parameter":[{"name":"x","part":${deep}}]}}]}`;
      });
      await fc.assert(
        fc.asyncProperty(fc.oneof(deepNesting, inside), auth, async (text, a) => {
          const answer = await send(post(text, a));
          expectWellFormed(answer);
          expect(answer.status).toBe(400);
        }),
        fuzz(40),
      );
    },
    propertyTimeout(60_000),
  );

  it('the chosen edge cases, one by one', async () => {
    const cases: [string, string][] = [
      ['1e999 event number', bundleWithEventNumber(raw('1e999'))],
      ['-0 event number', bundleWithEventNumber(raw('-0'))],
      ['2^53+1 event number', bundleWithEventNumber(raw('9007199254740993'))],
      ['1e308 event number', bundleWithEventNumber(raw('1e308'))],
      ['"1e999" as a string', bundleWithEventNumber('1e999')],
      ['__proto__ at the top', '{"__proto__":{"polluted":true},"resourceType":"Patient","id":"p1"}'],
      ['constructor.prototype', '{"resourceType":"Patient","id":"p1","constructor":{"prototype":{"polluted":true}}}'],
      [
        '__proto__ in an entry',
        '{"resourceType":"Bundle","type":"transaction","entry":[{"__proto__":{"isAdmin":true}}]}',
      ],
      ['a duplicate resourceType', '{"resourceType":"Patient","resourceType":"Observation","id":"p1"}'],
      ['a lone surrogate id', '{"resourceType":"Patient","id":"\\ud800"}'],
      ['an RTL override id', '{"resourceType":"Patient","id":"\\u202ep1"}'],
      ['a NUL in the reference', '{"resourceType":"Observation","id":"o1","subject":{"reference":"Patient/p\\u0000"}}'],
      ['a 5 MB string', `{"resourceType":"Patient","id":"p1","text":{"div":"${'x'.repeat(5_000_000)}"}}`],
      ['100,000 entries', `{"resourceType":"Bundle","type":"batch","entry":[${'{},'.repeat(99_999)}{}]}`],
      ['an empty object', '{}'],
      ['null', 'null'],
      ['a number', '1e999'],
    ];
    for (const [label, text] of cases) {
      for (const a of ['bearer', 'signature'] as const) {
        const answer = await send(post(text, a));
        expectWellFormed(answer);
        if (/proto|constructor/.test(label)) expect(answer.status, label).toBe(400);
      }
    }
  }, 60_000);

  it('afterwards: no prototype polluted, and the service still answers and assesses a good notification', async () => {
    expect(prototypeSnapshot()).toEqual(prototypesBefore);
    expect(pollutionSeen()).toEqual([]);
    expect((await fetch(`${adapter.url}/healthz`)).status).toBe(200);

    // The fuzzing left jobs about resources that do not exist (resolved, failed, retried): the good patient's
    // assessment must not wait for them, so the test waits for its reports rather than for an empty queue.
    const tc = loadCase('pseudoprogression', 'fuzzed');
    await loadCases(fhir.baseUrl, [tc]);
    const patient = await fhir.repo.readResource('Patient', tc.patientId);
    const answer = await send(post(JSON.stringify(patient as Resource), 'signature'));
    expect(answer.status).toBe(200);
    expect(answer.queued.flat()).toContainEqual({ kind: 'assess-patient', patientId: tc.patientId });
    const expected = expectedOutcome(tc);
    await waitFor(
      () => JSON.stringify(serverOutcome(fhir.repo, tc.patientId).outcome) === JSON.stringify(expected),
      'the good notification assessed',
      60_000,
    );
    expectAssessed(fhir.repo, tc);
    expect((await fetch(`${adapter.url}/readyz`)).status).toBe(200);
  }, 120_000);
});

function bundleWithEventNumber(value: unknown): string {
  return toJsonText(
    pairs([
      ['resourceType', 'Bundle'],
      ['type', 'history'],
      [
        'entry',
        [
          pairs([
            [
              'resource',
              pairs([
                ['resourceType', 'Parameters'],
                [
                  'parameter',
                  [
                    { name: 'subscription', valueReference: { reference: 'Subscription/edge' } },
                    { name: 'type', valueCode: 'event-notification' },
                    pairs([
                      ['name', 'events-since-subscription-start'],
                      [typeof value === 'string' ? 'valueString' : 'valueDecimal', value],
                    ]),
                  ],
                ],
              ]),
            ],
          ]),
        ],
      ],
    ]),
  );
}
