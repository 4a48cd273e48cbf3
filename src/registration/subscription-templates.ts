/**
 * The adapter's Subscriptions (contract sections 1, 3 and 4), built in code for one server flavour.
 *
 * - classic R4 rest-hook Subscriptions, one per input resource type (https://hl7.org/fhir/R4/subscription.html);
 * - or, when `backport` is set, one topic-based Subscription after the Subscriptions R5 Backport IG
 *   (http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription).
 *
 * The starting point of each is its template under profiles/ (`Subscription-template-r4-*.json`) when the file is
 * there; otherwise the same content built here. The adapter then sets what it controls: key, status, endpoint,
 * Authorization header and the flavour's extensions.
 *
 * R4 Subscription has no `identifier` element and no `identifier` search parameter, so each Subscription carries
 * its key twice: as the R5 cross-version identifier extension (the slice the Backport IG profile uses) and as a
 * `meta.tag` in IDENTIFIER_SYSTEM, which every server can search (`_tag`) and use for conditional update.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Element, Extension, Subscription, SubscriptionChannel } from '@medplum/fhirtypes';
import { BASE, IDENTIFIER_SYSTEM, SUBSCRIPTION_TOPIC } from '../codes.ts';
import { badRequest } from '../fhir-model/outcomes.ts';
import { observationCodeParam } from '../fhir-model/watched-inputs.ts';

/**
 * Extension URLs, each checked against the implementation that reads it:
 * - Medplum: server rest-hook worker (packages/server/src/workers/subscription.ts: `subscription-secret` with `www.`,
 *   `subscription-max-attempts` without) and @medplum/core 5.2 (`subscription-supported-interaction`, installed here).
 * - HAPI FHIR: ca.uhn.fhir.util.HapiExtensions (EX_RETRY_COUNT, EX_SEND_DELETE_MESSAGES,
 *   EXT_SUBSCRIPTION_RESTHOOK_DELIVER_LATEST_VERSION, EXT_SUBSCRIPTION_RESTHOOK_STRIP_VERSION_IDS), all read from
 *   Subscription.channel.extension by SubscriptionCanonicalizer / SubscriptionRegistry.
 * - Backport IG 1.1 (hl7.org/fhir/uv/subscriptions-backport) and HAPI SubscriptionConstants (which needs the
 *   backport-subscription profile in meta.profile to treat a Subscription as topic-based).
 */
export const SUBSCRIPTION_EXT = {
  medplumSecret: 'https://www.medplum.com/fhir/StructureDefinition/subscription-secret',
  medplumMaxAttempts: 'https://medplum.com/fhir/StructureDefinition/subscription-max-attempts',
  medplumInteraction: 'https://medplum.com/fhir/StructureDefinition/subscription-supported-interaction',
  hapiRetryCount: 'http://hapifhir.io/fhir/StructureDefinition/subscription-delivery-retry-count',
  hapiSendDeleteMessages: 'http://hapifhir.io/fhir/StructureDefinition/subscription-send-delete-messages',
  hapiDeliverLatestVersion: 'http://hapifhir.io/fhir/StructureDefinition/subscription-resthook-deliver-latest-version',
  hapiStripVersionIds: 'http://hapifhir.io/fhir/StructureDefinition/subscription-resthook-strip-version-ids',
  backportProfile: 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription',
  backportFilterCriteria: 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-filter-criteria',
  backportPayloadContent: 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-payload-content',
  backportHeartbeatPeriod:
    'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-heartbeat-period',
  backportTimeout: 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-timeout',
  backportMaxCount: 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-max-count',
  backportChannelType: 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-channel-type',
  r5Identifier: 'http://hl7.org/fhir/5.0/StructureDefinition/extension-Subscription.identifier',
} as const;

export type Flavour = 'medplum' | 'hapi' | 'generic';

export interface SubscriptionOptions {
  /** Where the server can reach the adapter (PUBLIC_URL); the endpoint is `${publicUrl}/notifications`. */
  publicUrl: string;
  /** WEBHOOK_SECRET: sent as `Authorization: Bearer`, and as the Medplum HMAC key. Never logged. */
  secret: string;
  flavour: Flavour;
  /** One topic-based Subscription (Backport IG) instead of the classic criteria Subscriptions. */
  backport: boolean;
  /** Delivery attempts: Medplum max attempts (1-18), HAPI retry count (= attempts - 1). Default 5. */
  maxAttempts?: number;
  /** Backport heartbeat period in seconds. Default 3600. */
  heartbeatSeconds?: number;
  /** More Observation codes to watch (contract: "more codes configurable" for ctDNA). */
  extraObservationCodes?: readonly { system: string; code: string }[];
  /**
   * Classic rest-hook without a payload: the server then notifies with an empty POST and the adapter catches up
   * (what the sandbox's hapi profile does, as HAPI does for such Subscriptions).
   */
  withoutPayload?: boolean;
  /**
   * Templates by name (`r4-observation`, ..., `r4-backport`, as in profiles/Subscription-template-<name>.json).
   * Default: read from profiles/; `[]` = use only the built-in content.
   */
  templates?: readonly SubscriptionTemplateLike[];
}

/** A Subscription template (structurally the same as the profile loader's `SubscriptionTemplate`). */
export interface SubscriptionTemplateLike {
  name: string;
  subscription: Subscription;
}

/** Template name (file `profiles/Subscription-template-<name>.json`) per key. */
export const TEMPLATE_NAMES: Readonly<Record<string, string>> = {
  'subscription-observation': 'r4-observation',
  'subscription-imaging-study': 'r4-imagingstudy',
  'subscription-medication-administration': 'r4-medicationadministration',
  'subscription-body-structure': 'r4-bodystructure',
  'subscription-topic': 'r4-backport',
};

let fileTemplates: SubscriptionTemplateLike[] | undefined;

/** The templates under profiles/ (read once; a missing or unreadable file is simply absent). */
export function readSubscriptionTemplates(): readonly SubscriptionTemplateLike[] {
  if (!fileTemplates) {
    fileTemplates = [];
    for (const name of Object.values(TEMPLATE_NAMES)) {
      try {
        const url = new URL(`../../profiles/Subscription-template-${name}.json`, import.meta.url);
        const subscription = JSON.parse(readFileSync(url, 'utf8')) as Subscription;
        if (subscription?.resourceType === 'Subscription') fileTemplates.push({ name, subscription });
      } catch {
        // No template: the built-in content is used.
      }
    }
  }
  return fileTemplates;
}

/** Keys of every Subscription the adapter may own (also the keys the watcher and clean-up look for). */
export const SUBSCRIPTION_KEYS = {
  observation: 'subscription-observation',
  imagingStudy: 'subscription-imaging-study',
  medicationAdministration: 'subscription-medication-administration',
  bodyStructure: 'subscription-body-structure',
  topic: 'subscription-topic',
} as const;
export const ALL_SUBSCRIPTION_KEYS: readonly string[] = Object.values(SUBSCRIPTION_KEYS);

/** A Subscription plus the R4 primitive-extension siblings (`_criteria`, `_payload`) fhirtypes does not model. */
export type AdapterSubscription = Subscription & {
  _criteria?: Element;
  channel: SubscriptionChannel & { _payload?: Element };
};

const DEFAULT_MAX_ATTEMPTS = 5;
const DEFAULT_HEARTBEAT_SECONDS = 3600;
const FHIR_JSON = 'application/fhir+json';

/** The notification endpoint for a public URL (trailing slashes removed). */
export function notificationEndpoint(publicUrl: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/notifications`;
}

/** The system of the owner tag: which endpoint a Subscription was made for (subscription-ownership.ts). */
export const OWNER_TAG_SYSTEM = `${BASE}/subscription-owner`;

/**
 * The owner tag's code for an endpoint: `endpoint-` and 16 hex digits of its SHA-256 (the URL itself stays out of
 * the tag, which servers index and show).
 * @param endpoint - The notification endpoint.
 * @returns The code.
 */
export function ownerCode(endpoint: string): string {
  return `endpoint-${createHash('sha256').update(endpoint).digest('hex').slice(0, 16)}`;
}

/** The adapter key of a Subscription (from its tag, else from the identifier extension). */
export function subscriptionKey(sub: Subscription): string | undefined {
  const tag = sub.meta?.tag?.find((t) => t.system === IDENTIFIER_SYSTEM && t.code);
  if (tag?.code) return tag.code;
  const ext = sub.extension?.find((e) => e.url === SUBSCRIPTION_EXT.r5Identifier);
  return ext?.valueIdentifier?.system === IDENTIFIER_SYSTEM ? ext.valueIdentifier.value : undefined;
}

/** The `_tag` search value that finds one adapter Subscription. */
export const keyTagParam = (key: string): string => `${IDENTIFIER_SYSTEM}|${key}`;

/** The status a (re)registered Subscription is written with: Medplum only delivers `active` ones. */
export const initialStatus = (flavour: Flavour): Subscription['status'] =>
  flavour === 'medplum' ? 'active' : 'requested';

function validate(options: SubscriptionOptions): void {
  let url: URL | undefined;
  try {
    url = new URL(options.publicUrl);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw badRequest('PUBLIC_URL must be an absolute http(s) URL', ['publicUrl']);
  }
  if (!options.secret) throw badRequest('WEBHOOK_SECRET must be set to register Subscriptions', ['secret']);
  const attempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  if (!Number.isInteger(attempts) || attempts < 1 || attempts > 18) {
    throw badRequest('maxAttempts must be an integer from 1 to 18', ['maxAttempts']);
  }
}

/** Built-in content per key, used when there is no template. */
function builtIn(reason: string, criteria: string): AdapterSubscription {
  return {
    resourceType: 'Subscription',
    status: 'requested',
    reason,
    criteria,
    channel: { type: 'rest-hook', payload: FHIR_JSON },
  };
}

/** Template (or built-in) content with the adapter-controlled fields set. */
function base(key: string, fallback: AdapterSubscription, options: SubscriptionOptions): AdapterSubscription {
  const templates = options.templates ?? readSubscriptionTemplates();
  const template = templates.find((t) => t.name === TEMPLATE_NAMES[key])?.subscription;
  const start = structuredClone((template ?? fallback) as AdapterSubscription);
  const profile = start.meta?.profile?.length ? { profile: start.meta.profile } : {};
  const endpoint = notificationEndpoint(options.publicUrl);
  return {
    ...start,
    meta: {
      ...profile,
      tag: [
        { system: IDENTIFIER_SYSTEM, code: key },
        { system: OWNER_TAG_SYSTEM, code: ownerCode(endpoint) },
      ],
    },
    extension: [
      ...(start.extension ?? []).filter((e) => e.url !== SUBSCRIPTION_EXT.r5Identifier),
      { url: SUBSCRIPTION_EXT.r5Identifier, valueIdentifier: { system: IDENTIFIER_SYSTEM, value: key } },
    ],
    status: initialStatus(options.flavour),
    channel: {
      ...start.channel,
      type: 'rest-hook',
      endpoint,
      payload: start.channel?.payload ?? FHIR_JSON,
      header: [`Authorization: Bearer ${options.secret}`],
    },
  };
}

/** Appends extra codes to an `Observation?code=` criteria (a template's list is kept as written). */
function withExtraCodes(criteria: string, extra: SubscriptionOptions['extraObservationCodes']): string {
  if (!extra?.length) return criteria;
  const present = new Set(criteria.replace(/^Observation\?code=/, '').split(','));
  const add = extra.map((c) => `${c.system}|${c.code}`).filter((t) => !present.has(t));
  return add.length ? `${criteria},${add.join(',')}` : criteria;
}

/** Flavour-specific extensions on the resource and its channel. */
function addFlavourExtensions(sub: AdapterSubscription, options: SubscriptionOptions, topicBased: boolean): void {
  const attempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  if (options.flavour === 'medplum') {
    const ext: Extension[] = [
      { url: SUBSCRIPTION_EXT.medplumSecret, valueString: options.secret },
      { url: SUBSCRIPTION_EXT.medplumMaxAttempts, valueInteger: attempts },
    ];
    if (!topicBased) {
      // With the interaction extension present Medplum fires only on the listed ones; list all three so that
      // deletes are delivered too (body {} + X-Medplum-Deleted-Resource).
      for (const code of ['create', 'update', 'delete'])
        ext.push({ url: SUBSCRIPTION_EXT.medplumInteraction, valueCode: code });
    }
    sub.extension = [...(sub.extension ?? []), ...ext];
  } else if (options.flavour === 'hapi') {
    const ext: Extension[] = [{ url: SUBSCRIPTION_EXT.hapiRetryCount, valueInteger: attempts - 1 }];
    if (!topicBased) {
      ext.push(
        { url: SUBSCRIPTION_EXT.hapiSendDeleteMessages, valueBoolean: true },
        { url: SUBSCRIPTION_EXT.hapiDeliverLatestVersion, valueBoolean: true },
      );
    }
    sub.channel.extension = [...(sub.channel.extension ?? []), ...ext];
  }
}

const CLASSIC: readonly { key: string; reason: string; criteria: string }[] = [
  {
    key: SUBSCRIPTION_KEYS.observation,
    reason: 'irecist-adapter: lesion measurements, non-target status, ECOG, tumour markers and ctDNA',
    criteria: `Observation?code=${observationCodeParam()}`,
  },
  { key: SUBSCRIPTION_KEYS.imagingStudy, reason: 'irecist-adapter: scans (timepoints)', criteria: 'ImagingStudy' },
  {
    key: SUBSCRIPTION_KEYS.medicationAdministration,
    reason: 'irecist-adapter: immunotherapy exposure',
    criteria: 'MedicationAdministration',
  },
  { key: SUBSCRIPTION_KEYS.bodyStructure, reason: 'irecist-adapter: lesion identity', criteria: 'BodyStructure' },
];

/**
 * Builds the adapter's Subscriptions for one server flavour. Same options, same resources (key order and
 * extension order are stable, so a server copy can be compared with them).
 */
export function buildSubscriptions(options: SubscriptionOptions): AdapterSubscription[] {
  validate(options);
  if (options.backport) {
    const fallback = builtIn('irecist-adapter: iRECIST inputs (topic-based)', SUBSCRIPTION_TOPIC);
    fallback.meta = { profile: [SUBSCRIPTION_EXT.backportProfile] };
    fallback.channel._payload = {
      extension: [{ url: SUBSCRIPTION_EXT.backportPayloadContent, valueCode: 'full-resource' }],
    };
    fallback.channel.extension = [
      { url: SUBSCRIPTION_EXT.backportHeartbeatPeriod, valueUnsignedInt: DEFAULT_HEARTBEAT_SECONDS },
    ];
    const sub = base(SUBSCRIPTION_KEYS.topic, fallback, options);
    // Whatever the template says, these make it topic-based (HAPI looks for the profile).
    sub.criteria = SUBSCRIPTION_TOPIC;
    const profiles = sub.meta?.profile ?? [];
    if (!profiles.includes(SUBSCRIPTION_EXT.backportProfile)) {
      sub.meta = { ...sub.meta, profile: [...profiles, SUBSCRIPTION_EXT.backportProfile] };
    }
    if (options.heartbeatSeconds !== undefined) {
      sub.channel.extension = [
        ...(sub.channel.extension ?? []).filter((e) => e.url !== SUBSCRIPTION_EXT.backportHeartbeatPeriod),
        { url: SUBSCRIPTION_EXT.backportHeartbeatPeriod, valueUnsignedInt: options.heartbeatSeconds },
      ];
    }
    addFlavourExtensions(sub, options, true);
    return [sub];
  }
  return CLASSIC.map((c) => {
    const sub = base(c.key, builtIn(c.reason, c.criteria), options);
    if (c.key === SUBSCRIPTION_KEYS.observation)
      sub.criteria = withExtraCodes(sub.criteria, options.extraObservationCodes);
    addFlavourExtensions(sub, options, false);
    if (options.withoutPayload) delete sub.channel.payload;
    return sub;
  });
}
