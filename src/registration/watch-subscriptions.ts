/**
 * Watches the adapter's Subscriptions: a server may turn one `off` or `error` (Medplum after repeated delivery
 * failures, HAPI on a bad endpoint, an administrator), or it may disappear. Each such Subscription is set back to
 * delivering (or re-created), and a catch-up is requested because notifications may have been lost meanwhile.
 * https://hl7.org/fhir/R4/subscription.html#status
 */
import type { MedplumClient } from '@medplum/core';
import type { Subscription } from '@medplum/fhirtypes';
import { noCache } from '../fhir/search-pages.ts';
import { logger } from '../logging.ts';
import { createPeriodicTask, type PeriodicTask } from '../util/periodic-task.ts';
import {
  activateIfLeftRequested,
  createSubscription,
  findAdapterSubscriptions,
  isDelivering,
  type RegisterOptions,
  resolveSubscriptionOptions,
  type SubscriptionCapabilities,
  type UpsertState,
} from './register-subscriptions.ts';
import {
  type AdapterSubscription,
  buildSubscriptions,
  initialStatus,
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
  cause: 'reactivated' | 'recreated';
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
  const state: UpsertState = { conditional: caps.conditionalUpdate !== false };
  const result: WatchResult = { reactivated: [], recreated: [], healthy: [] };

  for (const desired of buildSubscriptions(resolved)) {
    const key = subscriptionKey(desired)!;
    const found = await findAdapterSubscriptions(client, key);
    if (found.length === 0) {
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
    if (found.some((s) => isDelivering(s.status, resolved.flavour))) {
      result.healthy.push(key);
      continue;
    }
    const current = found[0]!;
    const next: AdapterSubscription = { ...desired, id: current.id, status: initialStatus(resolved.flavour) };
    const saved = await activateIfLeftRequested(
      client,
      (await client.updateResource(next, noCache())) as AdapterSubscription,
      resolved,
    );
    const id = String(saved.id ?? current.id);
    result.reactivated.push({ key, id, previousStatus: current.status });
    log.warn({ key, subscriptionId: id, previousStatus: current.status }, 'Re-activated adapter Subscription');
    await options.onCatchUp(
      { kind: 'catch-up', reason: 'poll', subscriptionId: id },
      { key, cause: 'reactivated', previousStatus: current.status },
    );
  }
  return result;
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
