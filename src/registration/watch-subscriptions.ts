/**
 * Watches this instance's Subscriptions: a server may turn one `off` or `error` (Medplum after repeated delivery
 * failures, HAPI on a bad endpoint, an administrator), someone may point it elsewhere (an edit, an older adapter's
 * `subscribe` with another PUBLIC_URL), or it may disappear. Each such Subscription is set back to delivering here
 * (or re-created), and a catch-up is requested because notifications may have been lost meanwhile.
 * `inspectSubscriptions` is the same look without writing (for /readyz).
 * https://hl7.org/fhir/R4/subscription.html#status
 */
import type { MedplumClient } from '@medplum/core';
import type { Subscription } from '@medplum/fhirtypes';
import { noCache } from '../fhir/search-pages.ts';
import { logger } from '../logging.ts';
import { createPeriodicTask, type PeriodicTask } from '../util/periodic-task.ts';
import {
  type RegisterOptions,
  resolveSubscriptionOptions,
  type SubscriptionCapabilities,
} from './register-subscriptions.ts';
import { isDelivering } from './subscription-content.ts';
import { withForeignExtensions } from './subscription-ownership.ts';
import { activateIfLeftRequested, createSubscription, findByOwner, type UpsertState } from './subscription-store.ts';
import {
  type AdapterSubscription,
  buildSubscriptions,
  initialStatus,
  notificationEndpoint,
  subscriptionKey,
} from './subscription-templates.ts';

const log = logger.child({ component: 'subscription-watch' });

/**
 * The catch-up job intent, the same shape as intake's CatchUpJob: reason `poll` = ask the server what changed
 * (a Subscription that was not delivering may have missed notifications).
 */
export interface CatchUpRequest {
  kind: 'catch-up';
  reason: 'poll';
  subscriptionId?: string;
}

/** Why the catch-up was requested (for logs and metrics; not part of the job). */
export interface CatchUpCause {
  key: string;
  cause: 'reactivated' | 'recreated' | 'redirected';
  previousStatus?: Subscription['status'];
}

export interface ReactivatedSubscription {
  key: string;
  id: string;
  previousStatus: Subscription['status'];
}

export interface WatchResult {
  /** Subscriptions found `off`/`error` (or `requested` on Medplum) and set back to delivering. */
  reactivated: ReactivatedSubscription[];
  /** Keys that were missing on the server and were created again. */
  recreated: string[];
  /** This instance's Subscriptions found delivering to another endpoint, pointed back here. */
  redirected: ReactivatedSubscription[];
  /** Keys found delivering (`active`, or `requested` where the server activates it). */
  healthy: string[];
}

export type WatchOptions = RegisterOptions & {
  /** Called once per re-activated or re-created Subscription, after the server accepted the change. */
  onCatchUp: (request: CatchUpRequest, cause: CatchUpCause) => void | Promise<void>;
  /** Re-create Subscriptions that are gone. Default true. */
  recreateMissing?: boolean;
};

/**
 * One pass: reads each of the adapter's Subscriptions and re-activates those that are not delivering.
 * Content drift is fixed in the same write (the desired Subscription is written); content drift alone on a
 * delivering Subscription is left to `registerSubscriptions`.
 */
export async function watchSubscriptions(
  client: MedplumClient,
  caps: SubscriptionCapabilities,
  options: WatchOptions,
): Promise<WatchResult> {
  const resolved = resolveSubscriptionOptions(caps, options);
  const endpoint = notificationEndpoint(resolved.publicUrl);
  const state: UpsertState = { conditional: caps.conditionalUpdate !== false };
  const result: WatchResult = { reactivated: [], recreated: [], redirected: [], healthy: [] };

  for (const desired of buildSubscriptions(resolved)) {
    const key = subscriptionKey(desired)!;
    const { mine } = await findByOwner(client, key, endpoint);
    if (mine.length === 0) {
      if (options.recreateMissing === false) continue;
      const { created, existing } = await createSubscription(client, desired, key, state);
      const sub = created ? await activateIfLeftRequested(client, created, resolved) : existing;
      result.recreated.push(key);
      log.warn({ key, subscriptionId: sub?.id }, 'Adapter Subscription was missing; created it again');
      await options.onCatchUp(
        { kind: 'catch-up', reason: 'poll', subscriptionId: sub?.id },
        { key, cause: 'recreated' },
      );
      continue;
    }
    const here = mine.filter((s) => s.channel?.endpoint === endpoint);
    if (here.some((s) => isDelivering(s.status, resolved.flavour))) {
      result.healthy.push(key);
      continue;
    }
    // Not delivering here: off / error, or pointed elsewhere. Written back as desired, keeping others' extensions.
    const current = here[0] ?? mine[0]!;
    const redirected = current.channel?.endpoint !== endpoint;
    const next: AdapterSubscription = {
      ...withForeignExtensions(desired, current),
      id: current.id,
      status: initialStatus(resolved.flavour),
    };
    const saved = await activateIfLeftRequested(
      client,
      (await client.updateResource(next, noCache())) as AdapterSubscription,
      resolved,
    );
    const id = String(saved.id ?? current.id);
    const entry = { key, id, previousStatus: current.status };
    (redirected ? result.redirected : result.reactivated).push(entry);
    log.warn(
      { key, subscriptionId: id, previousStatus: current.status, redirected },
      redirected ? 'Adapter Subscription pointed elsewhere; pointed it back here' : 'Re-activated adapter Subscription',
    );
    await options.onCatchUp(
      { kind: 'catch-up', reason: 'poll', subscriptionId: id },
      { key, cause: redirected ? 'redirected' : 'reactivated', previousStatus: current.status },
    );
  }
  return result;
}

/** What /readyz says of this instance's Subscriptions: each key delivering here, or what is wrong. */
export interface SubscriptionInspection {
  ok: boolean;
  /** Keys with no Subscription of this instance. */
  missing: string[];
  /** Keys whose Subscription of this instance delivers to another endpoint. */
  pointingElsewhere: string[];
  /** Keys whose Subscription here is not delivering (off, error). */
  notDelivering: string[];
}

/**
 * The watcher's look at this instance's Subscriptions, without writing anything.
 * @param client - The FHIR client.
 * @param caps - The server's capabilities.
 * @param options - As for the watcher.
 * @returns Whether every key delivers here, and which do not.
 */
export async function inspectSubscriptions(
  client: MedplumClient,
  caps: SubscriptionCapabilities,
  options: RegisterOptions,
): Promise<SubscriptionInspection> {
  const resolved = resolveSubscriptionOptions(caps, options);
  const endpoint = notificationEndpoint(resolved.publicUrl);
  const inspection: SubscriptionInspection = { ok: true, missing: [], pointingElsewhere: [], notDelivering: [] };
  for (const desired of buildSubscriptions(resolved)) {
    const key = subscriptionKey(desired)!;
    const { mine } = await findByOwner(client, key, endpoint);
    const here = mine.filter((s) => s.channel?.endpoint === endpoint);
    if (here.some((s) => isDelivering(s.status, resolved.flavour))) continue;
    if (mine.length === 0) inspection.missing.push(key);
    else if (here.length === 0) inspection.pointingElsewhere.push(key);
    else inspection.notDelivering.push(key);
    inspection.ok = false;
  }
  return inspection;
}

export type SubscriptionWatcher = PeriodicTask<WatchResult>;

/** Runs `watchSubscriptions` every `intervalMs` (first run at start); errors are logged and retried next time. */
export function createSubscriptionWatcher(args: {
  client: MedplumClient;
  caps: SubscriptionCapabilities;
  options: WatchOptions;
  intervalMs: number;
}): SubscriptionWatcher {
  return createPeriodicTask(
    () => watchSubscriptions(args.client, args.caps, args.options),
    args.intervalMs,
    (err) => {
      log.error({ errorName: (err as Error)?.name }, 'Subscription watch failed');
    },
  );
}
