import type { Subscription } from '@medplum/fhirtypes';
import nock from 'nock';
import { afterEach, beforeEach, describe, expect, expectTypeOf, it } from 'vitest';
import { IDENTIFIER_SYSTEM, SUBSCRIPTION_TOPIC } from '../../src/codes.ts';
import type { Capabilities } from '../../src/fhir/capabilities.ts';
import { OutcomeError } from '../../src/fhir-model/outcomes.ts';
import type { CatchUpJob } from '../../src/intake/jobs.ts';
import type { SubscriptionTemplate, SubscriptionTopic } from '../../src/profiles/load-profiles.ts';
import {
  chooseFlavour,
  type RegisterOptions,
  registerSubscriptions,
  type SubscriptionCapabilities,
  type TopicResource,
} from '../../src/registration/register-subscriptions.ts';
import {
  type AdapterSubscription,
  buildSubscriptions,
  OWNER_TAG_SYSTEM,
  ownerCode,
  readSubscriptionTemplates,
  SUBSCRIPTION_EXT,
  SUBSCRIPTION_KEYS,
  type SubscriptionTemplateLike,
  subscriptionKey,
} from '../../src/registration/subscription-templates.ts';
import {
  type CatchUpCause,
  type CatchUpRequest,
  watchSubscriptions,
} from '../../src/registration/watch-subscriptions.ts';
import { type FakeFhirServer, startFakeFhirServer, writesSince } from './fake-fhir-server.ts';

const SECRET = 'test-secret-0123456789';
const BASE_OPTIONS = { publicUrl: 'https://adapter.example.org/', secret: SECRET };
const CLASSIC_KEYS = [
  SUBSCRIPTION_KEYS.observation,
  SUBSCRIPTION_KEYS.imagingStudy,
  SUBSCRIPTION_KEYS.medicationAdministration,
  SUBSCRIPTION_KEYS.bodyStructure,
];
const HAPI: SubscriptionCapabilities = { restHook: true, backportTopics: false, software: 'HAPI FHIR Server' };
const MEDPLUM: SubscriptionCapabilities = { restHook: true, backportTopics: false, software: 'Medplum' };

const subscriptionsOn = (server: FakeFhirServer): AdapterSubscription[] =>
  [...server.resources.values()].filter((r) => r.resourceType === 'Subscription') as unknown as AdapterSubscription[];

describe('buildSubscriptions', () => {
  it('builds one classic rest-hook Subscription per input type, keyed and pointed at /notifications', () => {
    const subs = buildSubscriptions({ ...BASE_OPTIONS, flavour: 'generic', backport: false });
    expect(subs.map(subscriptionKey)).toEqual(CLASSIC_KEYS);
    expect(subs.map((s) => s.criteria.split('?')[0])).toEqual([
      'Observation',
      'ImagingStudy',
      'MedicationAdministration',
      'BodyStructure',
    ]);
    for (const s of subs) {
      expect(s.status).toBe('requested');
      expect(s.channel).toMatchObject({
        type: 'rest-hook',
        endpoint: 'https://adapter.example.org/notifications',
        payload: 'application/fhir+json',
        header: [`Authorization: Bearer ${SECRET}`],
      });
      expect(s.meta?.tag).toEqual([
        { system: IDENTIFIER_SYSTEM, code: subscriptionKey(s) },
        { system: OWNER_TAG_SYSTEM, code: ownerCode('https://adapter.example.org/notifications') },
      ]);
      expect(s.extension).toContainEqual({
        url: SUBSCRIPTION_EXT.r5Identifier,
        valueIdentifier: { system: IDENTIFIER_SYSTEM, value: subscriptionKey(s) },
      });
    }
  });

  it('watches every Observation code the adapter reads', () => {
    const [obs] = buildSubscriptions({
      ...BASE_OPTIONS,
      flavour: 'generic',
      backport: false,
      extraObservationCodes: [{ system: 'http://example.org/lab', code: 'ctdna-vaf' }],
    });
    const tokens = obs!.criteria.replace('Observation?code=', '').split(',');
    expect(tokens).toEqual([
      'http://loinc.org|21889-1',
      'http://loinc.org|89247-1',
      'http://loinc.org|2039-6',
      'http://loinc.org|10334-1',
      'http://loinc.org|2857-1',
      'http://loinc.org|24108-3',
      'http://loinc.org|2532-0',
      'https://irecist-adapter.dev/fhir/CodeSystem/irecist|non-target-lesion-status',
      'https://irecist-adapter.dev/fhir/CodeSystem/irecist|ctdna-tumor-fraction',
      'http://example.org/lab|ctdna-vaf',
    ]);
  });

  it('adds the Medplum extensions (HMAC secret, max attempts, create/update/delete) and starts active', () => {
    const subs = buildSubscriptions({ ...BASE_OPTIONS, flavour: 'medplum', backport: false, maxAttempts: 7 });
    for (const s of subs) {
      expect(s.status).toBe('active');
      expect(s.extension).toEqual(
        expect.arrayContaining([
          { url: 'https://www.medplum.com/fhir/StructureDefinition/subscription-secret', valueString: SECRET },
          { url: 'https://medplum.com/fhir/StructureDefinition/subscription-max-attempts', valueInteger: 7 },
          {
            url: 'https://medplum.com/fhir/StructureDefinition/subscription-supported-interaction',
            valueCode: 'create',
          },
          {
            url: 'https://medplum.com/fhir/StructureDefinition/subscription-supported-interaction',
            valueCode: 'update',
          },
          {
            url: 'https://medplum.com/fhir/StructureDefinition/subscription-supported-interaction',
            valueCode: 'delete',
          },
        ]),
      );
      expect(s.channel.extension).toBeUndefined();
    }
  });

  it('adds the HAPI channel extensions (retry count, delete messages, latest version) and no Medplum ones', () => {
    const subs = buildSubscriptions({ ...BASE_OPTIONS, flavour: 'hapi', backport: false, maxAttempts: 4 });
    for (const s of subs) {
      expect(s.status).toBe('requested');
      expect(s.channel.payload).toBe('application/fhir+json');
      expect(s.channel.extension).toEqual([
        { url: 'http://hapifhir.io/fhir/StructureDefinition/subscription-delivery-retry-count', valueInteger: 3 },
        { url: 'http://hapifhir.io/fhir/StructureDefinition/subscription-send-delete-messages', valueBoolean: true },
        {
          url: 'http://hapifhir.io/fhir/StructureDefinition/subscription-resthook-deliver-latest-version',
          valueBoolean: true,
        },
      ]);
      expect(s.extension?.map((e) => e.url)).toEqual([SUBSCRIPTION_EXT.r5Identifier]);
    }
  });

  it('builds one Backport topic-based Subscription when backport is set (built-in content)', () => {
    const subs = buildSubscriptions({
      ...BASE_OPTIONS,
      flavour: 'hapi',
      backport: true,
      heartbeatSeconds: 120,
      templates: [],
    });
    expect(subs).toHaveLength(1);
    const [s] = subs;
    expect(subscriptionKey(s!)).toBe(SUBSCRIPTION_KEYS.topic);
    expect(s!.criteria).toBe(SUBSCRIPTION_TOPIC);
    expect(s!.meta?.profile).toEqual([
      'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription',
    ]);
    expect(s!.channel._payload).toEqual({
      extension: [
        {
          url: 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-payload-content',
          valueCode: 'full-resource',
        },
      ],
    });
    expect(s!.channel.extension).toEqual([
      {
        url: 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-heartbeat-period',
        valueUnsignedInt: 120,
      },
      { url: SUBSCRIPTION_EXT.hapiRetryCount, valueInteger: 4 },
    ]);
  });

  it('starts from the profiles/ templates, keeping their channel extensions, and sets what the adapter controls', () => {
    const templates = readSubscriptionTemplates();
    expect(templates.map((t) => t.name).sort()).toEqual([
      'r4-backport',
      'r4-bodystructure',
      'r4-imagingstudy',
      'r4-medicationadministration',
      'r4-observation',
    ]);
    const [topic] = buildSubscriptions({ ...BASE_OPTIONS, flavour: 'generic', backport: true });
    const template = templates.find((t) => t.name === 'r4-backport')!.subscription;
    expect(topic!.reason).toBe(template.reason);
    expect(topic!.channel.extension).toEqual(template.channel.extension);
    expect(topic!.channel.endpoint).toBe('https://adapter.example.org/notifications');
    expect(topic!.channel.header).toEqual([`Authorization: Bearer ${SECRET}`]);
    expect(topic!.status).toBe('requested');
    expect(JSON.stringify(topic)).not.toContain('{{');
  });

  it('the profiles/ templates and the built-in content watch the same criteria', () => {
    const fromFiles = buildSubscriptions({ ...BASE_OPTIONS, flavour: 'generic', backport: false });
    const builtIn = buildSubscriptions({ ...BASE_OPTIONS, flavour: 'generic', backport: false, templates: [] });
    expect(fromFiles.map((s) => s.criteria)).toEqual(builtIn.map((s) => s.criteria));
    expect(fromFiles.map((s) => s.channel)).toEqual(builtIn.map((s) => s.channel));
  });

  it.each([
    ['not-a-url', 'PUBLIC_URL must be an absolute http(s) URL'],
    ['ftp://adapter.example.org', 'PUBLIC_URL must be an absolute http(s) URL'],
  ])('rejects publicUrl %s', (publicUrl, text) => {
    expect(() => buildSubscriptions({ publicUrl, secret: SECRET, flavour: 'generic', backport: false })).toThrow(text);
  });

  it('rejects an empty secret', () => {
    expect(() => buildSubscriptions({ ...BASE_OPTIONS, secret: '', flavour: 'generic', backport: false })).toThrow(
      'WEBHOOK_SECRET must be set to register Subscriptions',
    );
  });
});

describe('chooseFlavour', () => {
  it.each([
    ['Medplum', 'medplum'],
    ['HAPI FHIR Server', 'hapi'],
    ['Smile CDR', 'hapi'],
    ['Firely Server', 'generic'],
    [undefined, 'generic'],
  ] as const)('%s -> %s', (software, flavour) => {
    expect(chooseFlavour(software)).toBe(flavour);
  });
});

describe('registerSubscriptions against a loopback FHIR server', () => {
  let server: FakeFhirServer;

  beforeEach(async () => {
    server = await startFakeFhirServer({ activateRequested: true });
  });
  afterEach(async () => {
    await server.close();
  });

  it('creates the four Subscriptions, then changes nothing on a second run', async () => {
    const client = server.client();
    const first = await registerSubscriptions(client, HAPI, BASE_OPTIONS);
    expect(first.created).toEqual(CLASSIC_KEYS);
    expect(first.updated).toEqual([]);
    expect(subscriptionsOn(server)).toHaveLength(4);
    // The server activated them (HAPI style); that is not drift.
    expect(subscriptionsOn(server).map((s) => s.status)).toEqual(['active', 'active', 'active', 'active']);

    const mark = server.requests.length;
    const second = await registerSubscriptions(client, HAPI, BASE_OPTIONS);
    expect(second).toMatchObject({ created: [], updated: [], unchanged: CLASSIC_KEYS, removed: [] });
    expect(writesSince(server, mark)).toEqual([]);
    expect(subscriptionsOn(server)).toHaveLength(4);
  });

  it('updates the Subscriptions in place when their content changes (new secret)', async () => {
    const client = server.client();
    await registerSubscriptions(client, HAPI, BASE_OPTIONS);
    const ids = subscriptionsOn(server).map((s) => s.id);
    const result = await registerSubscriptions(client, HAPI, { ...BASE_OPTIONS, secret: 'rotated-secret' });
    expect(result.updated).toEqual(CLASSIC_KEYS);
    expect(subscriptionsOn(server).map((s) => s.id)).toEqual(ids);
    expect(subscriptionsOn(server).map((s) => s.channel.header)).toEqual(
      Array(4).fill(['Authorization: Bearer rotated-secret']),
    );
  });

  it('uses the Medplum flavour from the CapabilityStatement software name', async () => {
    const result = await registerSubscriptions(server.client(), MEDPLUM, BASE_OPTIONS);
    expect(result.created).toHaveLength(4);
    for (const s of subscriptionsOn(server)) {
      expect(s.status).toBe('active');
      expect(s.extension?.find((e) => e.url === SUBSCRIPTION_EXT.medplumSecret)?.valueString).toBe(SECRET);
    }
  });

  it('switching to backport creates the topic Subscription and removes the classic ones', async () => {
    const client = server.client();
    await registerSubscriptions(client, HAPI, BASE_OPTIONS);
    const result = await registerSubscriptions(
      client,
      { ...HAPI, backportTopics: true },
      {
        ...BASE_OPTIONS,
        backport: true,
      },
    );
    expect(result.created).toEqual([SUBSCRIPTION_KEYS.topic]);
    expect(result.removed.sort()).toEqual([...CLASSIC_KEYS].sort());
    expect(subscriptionsOn(server).map(subscriptionKey)).toEqual([SUBSCRIPTION_KEYS.topic]);
  });

  it('on an unrecognised server that never activates, sets the Subscriptions active once', async () => {
    await server.close();
    server = await startFakeFhirServer({ activateRequested: false });
    const other: SubscriptionCapabilities = { restHook: true, backportTopics: false, software: 'other' };
    const first = await registerSubscriptions(server.client(), other, BASE_OPTIONS);
    expect(first.created).toEqual(CLASSIC_KEYS);
    expect(first.subscriptions.map((s) => s.status)).toEqual(['active', 'active', 'active', 'active']);
    expect(subscriptionsOn(server).map((s) => s.status)).toEqual(['active', 'active', 'active', 'active']);
    const mark = server.requests.length;
    const second = await registerSubscriptions(server.client(), other, BASE_OPTIONS);
    expect(second.unchanged).toEqual(CLASSIC_KEYS);
    expect(writesSince(server, mark)).toEqual([]);
  });

  it('chooses backport when the server has topics but no classic rest-hook', async () => {
    const result = await registerSubscriptions(
      server.client(),
      { restHook: false, backportTopics: true, software: 'HAPI FHIR' },
      BASE_OPTIONS,
    );
    expect(result.created).toEqual([SUBSCRIPTION_KEYS.topic]);
  });

  it('upserts a given SubscriptionTopic by url before the topic-based Subscription, once', async () => {
    const topic = { resourceType: 'SubscriptionTopic', url: SUBSCRIPTION_TOPIC, status: 'active' };
    const options: RegisterOptions = { ...BASE_OPTIONS, backport: true, topic };
    await registerSubscriptions(server.client(), HAPI, options);
    const mark = server.requests.length;
    await registerSubscriptions(server.client(), HAPI, options);
    expect(writesSince(server, mark)).toEqual([]);
    const topics = [...server.resources.values()].filter((r) => r.resourceType === ('SubscriptionTopic' as string));
    expect(topics).toHaveLength(1);
  });

  it('removes duplicates of one key, keeping one', async () => {
    const client = server.client();
    await registerSubscriptions(client, HAPI, BASE_OPTIONS);
    const [dup] = buildSubscriptions({ ...BASE_OPTIONS, flavour: 'hapi', backport: false });
    server.seed({ ...dup!, id: 'zz-duplicate', status: 'active' } as Subscription);
    const result = await registerSubscriptions(client, HAPI, BASE_OPTIONS);
    expect(result.removed).toEqual([SUBSCRIPTION_KEYS.observation]);
    expect(result.unchanged).toEqual(CLASSIC_KEYS);
    expect(server.resources.has('Subscription/zz-duplicate')).toBe(false);
  });

  it('fails with a 501 outcome when the server supports no Subscriptions', async () => {
    const err = await registerSubscriptions(
      server.client(),
      { restHook: false, backportTopics: false },
      BASE_OPTIONS,
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutcomeError);
    expect((err as OutcomeError).status).toBe(501);
    expect((err as OutcomeError).message).toBe('FHIR server does not support rest-hook Subscriptions');
  });

  it('falls back to search then create when the server refuses conditional update', async () => {
    await server.close();
    server = await startFakeFhirServer({ conditionalUpdate: false });
    const result = await registerSubscriptions(server.client(), HAPI, BASE_OPTIONS);
    expect(result.created).toEqual(CLASSIC_KEYS);
    const writes = writesSince(server, 0);
    // One conditional attempt, then plain creates for all four.
    expect(writes.filter((w) => w.method === 'PUT')).toHaveLength(1);
    expect(writes.filter((w) => w.method === 'POST')).toHaveLength(4);
    expect(subscriptionsOn(server)).toHaveLength(4);
  });
});

describe('registerSubscriptions with a conditional update fault (nock)', () => {
  let server: FakeFhirServer;

  beforeEach(async () => {
    server = await startFakeFhirServer();
  });
  afterEach(async () => {
    nock.cleanAll();
    nock.restore();
    nock.activate();
    await server.close();
  });

  it('survives a 405 with a non-FHIR body on conditional PUT and creates each Subscription exactly once', async () => {
    const origin = server.baseUrl.replace(/\/$/, '');
    const scope = nock(origin, { allowUnmocked: true })
      .put(/\/fhir\/R4\/Subscription\?/)
      .reply(405, 'Method Not Allowed', { 'Content-Type': 'text/plain' });
    const result = await registerSubscriptions(server.client(), HAPI, BASE_OPTIONS);
    expect(scope.isDone()).toBe(true);
    expect(result.created).toEqual(CLASSIC_KEYS);
    expect(subscriptionsOn(server).map(subscriptionKey).sort()).toEqual([...CLASSIC_KEYS].sort());
    const again = await registerSubscriptions(server.client(), HAPI, BASE_OPTIONS);
    expect(again.unchanged).toEqual(CLASSIC_KEYS);
  });
});

describe('watchSubscriptions', () => {
  let server: FakeFhirServer;

  beforeEach(async () => {
    server = await startFakeFhirServer({ activateRequested: true });
  });
  afterEach(async () => {
    await server.close();
  });

  it('re-activates a Subscription the server turned off and requests a catch-up for it', async () => {
    const client = server.client();
    await registerSubscriptions(client, HAPI, BASE_OPTIONS);
    const target = subscriptionsOn(server).find((s) => subscriptionKey(s) === SUBSCRIPTION_KEYS.imagingStudy)!;
    server.seed({ ...target, status: 'off', error: 'endpoint unreachable' } as Subscription);

    const catchUps: CatchUpRequest[] = [];
    const causes: CatchUpCause[] = [];
    const result = await watchSubscriptions(client, HAPI, {
      ...BASE_OPTIONS,
      onCatchUp: (r, c) => {
        catchUps.push(r);
        causes.push(c);
      },
    });
    expect(result.reactivated).toEqual([{ key: SUBSCRIPTION_KEYS.imagingStudy, id: target.id, previousStatus: 'off' }]);
    expect(result.healthy).toHaveLength(3);
    expect(catchUps).toEqual([{ kind: 'catch-up', reason: 'poll', subscriptionId: target.id }]);
    expect(causes).toEqual([{ key: SUBSCRIPTION_KEYS.imagingStudy, cause: 'reactivated', previousStatus: 'off' }]);
    const after = server.resources.get(`Subscription/${target.id}`) as unknown as AdapterSubscription;
    expect(after.status).toBe('active');
    expect(after.error).toBeUndefined();

    const again = await watchSubscriptions(client, HAPI, { ...BASE_OPTIONS, onCatchUp: (r) => void catchUps.push(r) });
    expect(again.reactivated).toEqual([]);
    expect(catchUps).toHaveLength(1);
  });

  it('re-activates an `error` Subscription on Medplum with status active', async () => {
    await server.close();
    server = await startFakeFhirServer();
    const client = server.client();
    await registerSubscriptions(client, MEDPLUM, BASE_OPTIONS);
    const target = subscriptionsOn(server)[0]!;
    server.seed({ ...target, status: 'error' } as Subscription);
    const result = await watchSubscriptions(client, MEDPLUM, { ...BASE_OPTIONS, onCatchUp: () => undefined });
    expect(result.reactivated.map((r) => r.previousStatus)).toEqual(['error']);
    expect(server.resources.get(`Subscription/${target.id}`)?.status).toBe('active');
  });

  it('re-creates a Subscription that was deleted', async () => {
    const client = server.client();
    await registerSubscriptions(client, HAPI, BASE_OPTIONS);
    const target = subscriptionsOn(server).find((s) => subscriptionKey(s) === SUBSCRIPTION_KEYS.bodyStructure)!;
    server.resources.delete(`Subscription/${target.id}`);
    const causes: CatchUpCause[] = [];
    const result = await watchSubscriptions(client, HAPI, {
      ...BASE_OPTIONS,
      onCatchUp: (_r, c) => void causes.push(c),
    });
    expect(result.recreated).toEqual([SUBSCRIPTION_KEYS.bodyStructure]);
    expect(causes).toEqual([{ key: SUBSCRIPTION_KEYS.bodyStructure, cause: 'recreated' }]);
    expect(subscriptionsOn(server)).toHaveLength(4);
  });
});

describe('fits the other modules (compile-time)', () => {
  it('takes readCapabilities() output as caps and emits intake catch-up jobs', () => {
    expectTypeOf<Capabilities>().toExtend<SubscriptionCapabilities>();
    expectTypeOf<CatchUpRequest>().toExtend<CatchUpJob>();
    expectTypeOf<SubscriptionTopic>().toExtend<TopicResource>();
    expectTypeOf<SubscriptionTemplate>().toExtend<SubscriptionTemplateLike>();
  });
});
