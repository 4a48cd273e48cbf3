/**
 * Creates or updates the adapter's Subscriptions on the FHIR server (`irecist-adapter subscribe`, and at start-up).
 * Idempotent: each Subscription is found by its key tag; one whose content already matches is left alone, so a
 * second run changes nothing. https://hl7.org/fhir/R4/subscription.html, https://hl7.org/fhir/R4/http.html#cond-update
 *
 * Subscriptions belong to one endpoint (subscription-ownership.ts): an instance updates and removes only its own.
 * When the server already delivers the adapter's notifications to another endpoint (another instance) and this one
 * has none yet, registration refuses (409, naming that endpoint) unless `force`: then this instance adds its own set
 * beside the other's, which it never touches. An update keeps every extension the adapter does not set itself.
 */
import type { MedplumClient } from '@medplum/core';
import type { Subscription } from '@medplum/fhirtypes';
import { noCache, searchAll } from '../fhir/search-pages.ts';
import { OutcomeError, outcome } from '../fhir-model/outcomes.ts';
import { serverSoftware } from '../fhir-model/server-software.ts';
import { logger } from '../logging.ts';
import { isDelivering, sameSubscriptionContent, stable } from './subscription-content.ts';
import { withForeignExtensions } from './subscription-ownership.ts';
import {
  activateIfLeftRequested,
  createSubscription,
  findByOwner,
  isAuthError,
  type UpsertState,
} from './subscription-store.ts';
import {
  type AdapterSubscription,
  ALL_SUBSCRIPTION_KEYS,
  buildSubscriptions,
  type Flavour,
  notificationEndpoint,
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
  /** Delete this instance's Subscriptions (by key) that the chosen mode no longer uses. Default true. */
  removeStale?: boolean;
  /** Add this instance's own Subscriptions even when another instance's already deliver elsewhere. Default false. */
  force?: boolean;
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
  /** Endpoints other instances' Subscriptions on this server deliver to (left alone). */
  otherEndpoints: string[];
}

export { isDelivering, sameSubscriptionContent } from './subscription-content.ts';
export {
  activateIfLeftRequested,
  createSubscription,
  findAdapterSubscriptions,
  type UpsertState,
} from './subscription-store.ts';

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
  const { topic: _topic, removeStale: _removeStale, force: _force, ...rest } = options;
  return { ...rest, flavour, backport };
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

/** One key: create this instance's Subscription, or bring its copy (duplicates removed) to the desired content. */
async function upsertSubscription(
  client: MedplumClient,
  desired: AdapterSubscription,
  mine: AdapterSubscription[],
  flavour: Flavour,
  state: UpsertState,
  removed: string[],
): Promise<{ action: UpsertAction; sub: AdapterSubscription }> {
  const key = subscriptionKey(desired)!;
  const found = [...mine];
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
  const wanted = withForeignExtensions(desired, primary);
  if (sameSubscriptionContent(primary, wanted) && isDelivering(primary.status, flavour)) {
    return { action: 'unchanged', sub: primary };
  }
  const updated = (await client.updateResource({ ...wanted, id: primary.id }, noCache())) as AdapterSubscription;
  return { action: 'updated', sub: updated };
}

/** The refusal when another instance's Subscriptions deliver elsewhere and this one has none. */
function anotherInstance(endpoint: string, others: readonly AdapterSubscription[]): OutcomeError {
  const theirs = [...new Set(others.map((s) => s.channel?.endpoint ?? '(no endpoint)'))].join(', ');
  const ids = others.map((s) => `Subscription/${s.id}`).join(', ');
  return new OutcomeError(
    outcome(
      'conflict',
      `This FHIR server's irecist-adapter Subscriptions deliver to ${theirs} (${ids}), not to ${endpoint}. ` +
        "Another instance owns them and they are left alone: set PUBLIC_URL to that instance's URL, or run " +
        "`subscribe --force` to add this instance's own Subscriptions beside them (if that instance is gone, delete its Subscriptions).",
    ),
    409,
  );
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
 * Creates or updates each of this instance's Subscriptions (found by key tag and owner), and removes this instance's
 * Subscriptions that the chosen mode does not use (e.g. the classic ones after switching to backport).
 * @throws OutcomeError 409 when another instance's Subscriptions deliver elsewhere and this one has none (no `force`).
 * Running it twice in a row reports everything `unchanged` the second time.
 */
export async function registerSubscriptions(
  client: MedplumClient,
  caps: SubscriptionCapabilities,
  options: RegisterOptions,
): Promise<RegistrationResult> {
  const resolved = resolveSubscriptionOptions(caps, options);
  const desiredList = buildSubscriptions(resolved);
  const endpoint = notificationEndpoint(resolved.publicUrl);
  const state: UpsertState = { conditional: caps.conditionalUpdate !== false };
  const result: RegistrationResult = {
    created: [],
    updated: [],
    unchanged: [],
    removed: [],
    subscriptions: [],
    otherEndpoints: [],
  };

  // Whose Subscriptions are there, before anything is written: a refusal leaves the server as it was.
  const byKey = new Map<string, AdapterSubscription[]>();
  const others: AdapterSubscription[] = [];
  for (const desired of desiredList) {
    const key = subscriptionKey(desired)!;
    const found = await findByOwner(client, key, endpoint);
    byKey.set(key, found.mine);
    others.push(...found.others);
  }
  result.otherEndpoints = [...new Set(others.map((s) => s.channel?.endpoint ?? ''))].filter(Boolean);
  if (others.length > 0 && [...byKey.values()].every((m) => m.length === 0) && !options.force) {
    throw anotherInstance(endpoint, others);
  }

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
    const mine = byKey.get(key) ?? [];
    const upserted = await upsertSubscription(client, desired, mine, resolved.flavour, state, result.removed);
    const { action } = upserted;
    const sub = action === 'unchanged' ? upserted.sub : await activateIfLeftRequested(client, upserted.sub, resolved);
    result[action].push(key);
    result.subscriptions.push({ key, id: String(sub.id), status: sub.status });
    if (action !== 'unchanged') log.info({ key, subscriptionId: sub.id, action }, 'Registered adapter Subscription');
  }

  if (options.removeStale !== false) {
    const wanted = new Set(desiredList.map((d) => subscriptionKey(d)));
    for (const key of ALL_SUBSCRIPTION_KEYS.filter((k) => !wanted.has(k))) {
      for (const stale of (await findByOwner(client, key, endpoint)).mine) {
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
      otherInstances: result.otherEndpoints.length,
      flavour: resolved.flavour,
      backport: resolved.backport,
    },
    'Subscription registration done',
  );
  return result;
}
