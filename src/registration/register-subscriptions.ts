/**
 * Creates or updates the adapter's Subscriptions on the FHIR server (`irecist-adapter subscribe`, and at start-up).
 * Idempotent: each Subscription is found by its key tag; one whose content already matches is left alone, so a
 * second run changes nothing. https://hl7.org/fhir/R4/subscription.html, https://hl7.org/fhir/R4/http.html#cond-update
 */
import type { MedplumClient } from '@medplum/core';
import type { Subscription } from '@medplum/fhirtypes';
import { noCache, searchAll } from '../fhir/search-pages.ts';
import { OutcomeError, outcome } from '../fhir-model/outcomes.ts';
import { serverSoftware } from '../fhir-model/server-software.ts';
import { logger } from '../logging.ts';
import {
  type AdapterSubscription,
  ALL_SUBSCRIPTION_KEYS,
  buildSubscriptions,
  type Flavour,
  keyTagParam,
  type SubscriptionOptions,
  subscriptionKey,
} from './subscription-templates.ts';

const log = logger.child({ component: 'subscription-registration' });

/** What the server can do, as far as registration cares (a subset of what readCapabilities reports). */
export interface SubscriptionCapabilities {
  /** Classic R4 rest-hook Subscriptions. */
  restHook: boolean;
  /** Backport IG topic-based Subscriptions. */
  backportTopics: boolean;
  /** CapabilityStatement.software.name (selects the flavour when none is given). */
  software?: string;
  /** Conditional update on Subscription; `false` skips straight to search-then-create. Default: try it. */
  conditionalUpdate?: boolean;
}

/** A topic resource (SubscriptionTopic, R4B/R5 shape) to upsert by canonical `url` before a backport Subscription. */
export interface TopicResource {
  resourceType: string;
  url?: string;
  id?: string;
  meta?: unknown;
}

export type RegisterOptions = Omit<SubscriptionOptions, 'flavour' | 'backport'> & {
  /** Overrides the flavour guessed from `caps.software`. */
  flavour?: Flavour;
  /** Overrides the choice made from `caps` (classic rest-hook preferred when both are available). */
  backport?: boolean;
  /** Upserted (by `url`) before the topic-based Subscription when backport is used. */
  topic?: TopicResource;
  /** Delete adapter Subscriptions (by key) that the chosen mode no longer uses. Default true. */
  removeStale?: boolean;
};

export interface RegisteredSubscription {
  key: string;
  id: string;
  status: Subscription['status'];
}

export interface RegistrationResult {
  /** Keys created, updated (content or status), left unchanged, and removed (stale mode or duplicates). */
  created: string[];
  updated: string[];
  unchanged: string[];
  removed: string[];
  subscriptions: RegisteredSubscription[];
}

/** Flavour from the server software (a name, or what readCapabilities made of it). */
export function chooseFlavour(software?: string): Flavour {
  const kind = software ? serverSoftware(software) : 'other';
  return kind === 'other' ? 'generic' : kind;
}

/** The full build options for a server: explicit options win over what `caps` suggests. */
export function resolveSubscriptionOptions(
  caps: SubscriptionCapabilities,
  options: RegisterOptions,
): SubscriptionOptions {
  const flavour = options.flavour ?? chooseFlavour(caps.software);
  let backport = options.backport;
  if (backport === undefined) {
    if (caps.restHook) backport = false;
    else if (caps.backportTopics) backport = true;
    else {
      throw new OutcomeError(outcome('not-supported', 'FHIR server does not support rest-hook Subscriptions'), 501);
    }
  }
  const { topic: _topic, removeStale: _removeStale, ...rest } = options;
  return { ...rest, flavour, backport };
}

function stable(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stable).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stable(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

const sortedJson = (list: readonly unknown[] | undefined): string[] => (list ?? []).map(stable).sort();

/** The parts of a Subscription the adapter manages; server-owned parts (id, meta, status, error) are left out. */
function managedView(sub: AdapterSubscription): unknown {
  const ch = sub.channel ?? ({} as AdapterSubscription['channel']);
  return {
    criteria: sub.criteria,
    criteriaExt: sortedJson(sub._criteria?.extension),
    reason: sub.reason,
    extension: sortedJson(sub.extension),
    profile: [...(sub.meta?.profile ?? [])].sort(),
    channel: {
      type: ch.type,
      endpoint: ch.endpoint,
      payload: ch.payload,
      payloadExt: sortedJson(ch._payload?.extension),
      header: [...(ch.header ?? [])].sort(),
      extension: sortedJson(ch.extension),
    },
  };
}

/** True when the server copy has the same managed content as the desired Subscription. */
export function sameSubscriptionContent(existing: AdapterSubscription, desired: AdapterSubscription): boolean {
  return stable(managedView(existing)) === stable(managedView(desired));
}

/** Statuses under which a Subscription delivers (Medplum never moves `requested` to `active`). */
export function isDelivering(status: Subscription['status'] | undefined, flavour: Flavour): boolean {
  return status === 'active' || (status === 'requested' && flavour !== 'medplum');
}

/** The adapter's Subscriptions with one key (normally zero or one). */
export async function findAdapterSubscriptions(client: MedplumClient, key: string): Promise<AdapterSubscription[]> {
  const found = await searchAll<AdapterSubscription>(client, 'Subscription', { _tag: keyTagParam(key) });
  // Guard against servers that ignore an unknown parameter and return everything.
  return found.filter((s) => subscriptionKey(s) === key);
}

function isAuthError(err: unknown): boolean {
  const code = (err as { outcome?: { issue?: { code?: string }[] } })?.outcome?.issue?.[0]?.code;
  return code === 'login' || code === 'security' || code === 'forbidden';
}

/** Shared state of one registration run: whether conditional update still looks usable. */
export interface UpsertState {
  conditional: boolean;
}

type UpsertAction = 'created' | 'updated' | 'unchanged';

/** Picks the copy to keep among duplicates: a delivering one first, then the lowest id (deterministic). */
function pickPrimary(found: AdapterSubscription[], flavour: Flavour): AdapterSubscription {
  return [...found].sort((a, b) => {
    const da = isDelivering(a.status, flavour) ? 0 : 1;
    const db = isDelivering(b.status, flavour) ? 0 : 1;
    return da - db || String(a.id).localeCompare(String(b.id));
  })[0]!;
}

/**
 * Creates a missing Subscription (conditional update by key tag, else search then create); `existing` is set
 * when the fallback search found one made meanwhile.
 */
export async function createSubscription(
  client: MedplumClient,
  desired: AdapterSubscription,
  key: string,
  state: UpsertState,
): Promise<{ created?: AdapterSubscription; existing?: AdapterSubscription }> {
  if (state.conditional) {
    try {
      // Conditional update: creates when nothing matches, so two adapters starting at once make one Subscription.
      const url = client.fhirSearchUrl('Subscription', { _tag: keyTagParam(key) });
      const result = (await client.put(url, desired, undefined, noCache())) as AdapterSubscription | undefined;
      if (result?.id) return { created: result };
      const again = await findAdapterSubscriptions(client, key);
      if (again[0]) return { created: again[0] };
    } catch (err) {
      if (isAuthError(err)) throw err;
      log.warn({ key }, 'Conditional update not usable; falling back to search then create');
    }
    state.conditional = false;
    // The failed attempt may still have created it (e.g. an error after the write): look again before creating.
    const again = await findAdapterSubscriptions(client, key);
    if (again[0]) return { existing: again[0] };
  }
  return { created: (await client.createResource(desired, noCache())) as AdapterSubscription };
}

async function upsertSubscription(
  client: MedplumClient,
  desired: AdapterSubscription,
  flavour: Flavour,
  state: UpsertState,
  removed: string[],
): Promise<{ action: UpsertAction; sub: AdapterSubscription }> {
  const key = subscriptionKey(desired)!;
  const found = await findAdapterSubscriptions(client, key);
  if (found.length === 0) {
    const { created, existing } = await createSubscription(client, desired, key, state);
    if (created) return { action: 'created', sub: created };
    // The fallback search found one (made meanwhile): compare it like any existing copy.
    if (existing) found.push(existing);
  }
  const primary = pickPrimary(found, flavour);
  for (const dup of found) {
    if (dup.id && dup !== primary && dup.id !== primary.id) {
      await client.deleteResource('Subscription', dup.id, noCache());
      removed.push(key);
      log.info({ key, subscriptionId: dup.id }, 'Removed duplicate adapter Subscription');
    }
  }
  if (sameSubscriptionContent(primary, desired) && isDelivering(primary.status, flavour)) {
    return { action: 'unchanged', sub: primary };
  }
  const updated = (await client.updateResource({ ...desired, id: primary.id }, noCache())) as AdapterSubscription;
  return { action: 'updated', sub: updated };
}

/**
 * Generic servers only (classic Subscriptions): one still `requested` right after the write is set `active`.
 * Some servers never activate a Subscription themselves (Medplum-style ones, such as the embedded sandbox when
 * its software is not recognised); servers that do activate accept the change. A refusal is logged, not thrown.
 */
export async function activateIfLeftRequested(
  client: MedplumClient,
  sub: AdapterSubscription,
  resolved: Pick<SubscriptionOptions, 'flavour' | 'backport'>,
): Promise<AdapterSubscription> {
  if (resolved.flavour !== 'generic' || resolved.backport || sub.status !== 'requested' || !sub.id) return sub;
  const key = subscriptionKey(sub);
  try {
    const current = (await client.readResource('Subscription', sub.id, noCache())) as AdapterSubscription;
    if (current.status !== 'requested') return current;
    const saved = (await client.updateResource({ ...current, status: 'active' }, noCache())) as AdapterSubscription;
    log.info({ key, subscriptionId: sub.id }, 'Server left the Subscription requested; set it active');
    return saved;
  } catch (err) {
    if (isAuthError(err)) throw err;
    log.warn({ key, subscriptionId: sub.id }, 'Server refused to activate the Subscription; left requested');
    return sub;
  }
}

/** Upserts a SubscriptionTopic (or any canonical resource) by `url`, only when its content changed. */
async function upsertTopic(client: MedplumClient, topic: TopicResource, state: UpsertState): Promise<void> {
  if (!topic.url) return;
  const type = topic.resourceType;
  const existing = (await searchAll(client, type as 'Basic', { url: topic.url })) as unknown as TopicResource[];
  const match = existing.find((t) => t.url === topic.url);
  const { id: _id, meta: _meta, ...desiredBody } = topic;
  if (match) {
    const { id: _mid, meta: _mmeta, ...currentBody } = match;
    if (stable(currentBody) === stable(desiredBody)) return;
    await client.put(client.fhirUrl(type, String(match.id)), { ...desiredBody, id: match.id }, undefined, noCache());
    log.info({ resourceType: type, id: match.id }, 'Updated subscription topic');
    return;
  }
  if (state.conditional) {
    try {
      await client.put(client.fhirSearchUrl(type as 'Basic', { url: topic.url }), desiredBody, undefined, noCache());
      log.info({ resourceType: type }, 'Created subscription topic');
      return;
    } catch (err) {
      if (isAuthError(err)) throw err;
      state.conditional = false;
    }
  }
  await client.post(client.fhirUrl(type), desiredBody, undefined, noCache());
  log.info({ resourceType: type }, 'Created subscription topic');
}

/**
 * Creates or updates each of the adapter's Subscriptions (found by key tag), and removes the adapter's
 * Subscriptions that the chosen mode does not use (e.g. the classic ones after switching to backport).
 * Running it twice in a row reports everything `unchanged` the second time.
 */
export async function registerSubscriptions(
  client: MedplumClient,
  caps: SubscriptionCapabilities,
  options: RegisterOptions,
): Promise<RegistrationResult> {
  const resolved = resolveSubscriptionOptions(caps, options);
  const desiredList = buildSubscriptions(resolved);
  const state: UpsertState = { conditional: caps.conditionalUpdate !== false };
  const result: RegistrationResult = { created: [], updated: [], unchanged: [], removed: [], subscriptions: [] };

  if (resolved.backport && options.topic) {
    try {
      await upsertTopic(client, options.topic, state);
    } catch (err) {
      // R4 servers may not store SubscriptionTopic (HAPI R4 keeps topics elsewhere); the topic may be preloaded.
      if (isAuthError(err)) throw err;
      log.warn({ resourceType: options.topic.resourceType }, 'Could not upsert the subscription topic; continuing');
    }
  }

  for (const desired of desiredList) {
    const key = subscriptionKey(desired)!;
    const upserted = await upsertSubscription(client, desired, resolved.flavour, state, result.removed);
    const { action } = upserted;
    const sub = action === 'unchanged' ? upserted.sub : await activateIfLeftRequested(client, upserted.sub, resolved);
    result[action].push(key);
    result.subscriptions.push({ key, id: String(sub.id), status: sub.status });
    if (action !== 'unchanged') log.info({ key, subscriptionId: sub.id, action }, 'Registered adapter Subscription');
  }

  if (options.removeStale !== false) {
    const wanted = new Set(desiredList.map((d) => subscriptionKey(d)));
    for (const key of ALL_SUBSCRIPTION_KEYS.filter((k) => !wanted.has(k))) {
      for (const stale of await findAdapterSubscriptions(client, key)) {
        if (!stale.id) continue;
        await client.deleteResource('Subscription', stale.id, noCache());
        result.removed.push(key);
        log.info({ key, subscriptionId: stale.id }, 'Removed adapter Subscription the current mode does not use');
      }
    }
  }

  log.info(
    {
      created: result.created.length,
      updated: result.updated.length,
      unchanged: result.unchanged.length,
      removed: result.removed.length,
      flavour: resolved.flavour,
      backport: resolved.backport,
    },
    'Subscription registration done',
  );
  return result;
}
