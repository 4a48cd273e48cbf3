/**
 * Reading and writing the adapter's Subscriptions on the FHIR server: finding them by key (and owner), creating one
 * without racing another process (conditional update on both tags), activating one a generic server left `requested`.
 */
import type { MedplumClient } from '@medplum/core';
import { noCache, searchAll } from '../fhir/search-pages.ts';
import { logger } from '../logging.ts';
import { isOwnedBy, ownedKeyQuery } from './subscription-ownership.ts';
import {
  type AdapterSubscription,
  keyTagParam,
  type SubscriptionOptions,
  subscriptionKey,
} from './subscription-templates.ts';

const log = logger.child({ component: 'subscription-registration' });

/** Shared state of one registration run: whether conditional update still looks usable. */
export interface UpsertState {
  conditional: boolean;
}

/** Every adapter Subscription with one key, whoever owns it (normally one per instance). */
export async function findAdapterSubscriptions(client: MedplumClient, key: string): Promise<AdapterSubscription[]> {
  const found = await searchAll<AdapterSubscription>(client, 'Subscription', { _tag: keyTagParam(key) });
  // Guard against servers that ignore an unknown parameter and return everything.
  return found.filter((s) => subscriptionKey(s) === key);
}

/** One key's Subscriptions split into this instance's (by owner tag or endpoint) and other instances'. */
export async function findByOwner(
  client: MedplumClient,
  key: string,
  endpoint: string,
): Promise<{ mine: AdapterSubscription[]; others: AdapterSubscription[] }> {
  const found = await findAdapterSubscriptions(client, key);
  return { mine: found.filter((s) => isOwnedBy(s, endpoint)), others: found.filter((s) => !isOwnedBy(s, endpoint)) };
}

export function isAuthError(err: unknown): boolean {
  const code = (err as { outcome?: { issue?: { code?: string }[] } })?.outcome?.issue?.[0]?.code;
  return code === 'login' || code === 'security' || code === 'forbidden';
}

/**
 * Creates a missing Subscription of this instance (conditional update on its key and owner tags, else search then
 * create); `existing` is set when the fallback search found one made meanwhile.
 */
export async function createSubscription(
  client: MedplumClient,
  desired: AdapterSubscription,
  key: string,
  state: UpsertState,
): Promise<{ created?: AdapterSubscription; existing?: AdapterSubscription }> {
  const endpoint = desired.channel.endpoint as string;
  const mine = async () => (await findByOwner(client, key, endpoint)).mine;
  if (state.conditional) {
    try {
      // Conditional update: creates when nothing matches, so two processes of one instance make one Subscription;
      // both tags in the condition, so it never matches another instance's.
      const url = client.fhirSearchUrl('Subscription', ownedKeyQuery(key, endpoint));
      const result = (await client.put(url, desired, undefined, noCache())) as AdapterSubscription | undefined;
      if (result?.id) return { created: result };
      const again = await mine();
      if (again[0]) return { created: again[0] };
    } catch (err) {
      if (isAuthError(err)) throw err;
      log.warn({ key }, 'Conditional update not usable; falling back to search then create');
    }
    state.conditional = false;
    // The failed attempt may still have created it (e.g. an error after the write): look again before creating.
    const again = await mine();
    if (again[0]) return { existing: again[0] };
  }
  return { created: (await client.createResource(desired, noCache())) as AdapterSubscription };
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
