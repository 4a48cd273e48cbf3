/**
 * Medplum-style rest-hook notifications from the sandbox (what Medplum's subscription worker does):
 * for every committed create/update/delete, each active `rest-hook` Subscription whose `criteria` matches the
 * resource (@medplum/core `resourceMatchesSubscriptionCriteria`: search matching, the
 * subscription-supported-interaction and FHIRPath-criteria extensions) gets
 *
 *   POST channel.endpoint
 *   Content-Type: application/fhir+json
 *   X-Medplum-Subscription: <Subscription id>
 *   X-Medplum-Interaction: create | update | delete
 *   X-Medplum-Deleted-Resource: <Type>/<id>          (delete only)
 *   <each channel.header line "Name: value">
 *   X-Signature: hex HMAC-SHA256(body, secret)       (when the subscription-secret extension is set)
 *
 *   body: the resource version JSON (@medplum/core `stringify`), or `{}` for a delete.
 *
 * Deliveries start only after the writing request has been answered, run concurrently (bounded), and are
 * retried with exponential backoff on a network error or a non-2xx status, up to the
 * subscription-max-attempts extension (default 3 attempts in all). Like Medplum, a delivery is dropped when
 * its Subscription is gone or no longer active, when the resource has since been deleted, or (on a retry)
 * when the resource has a newer version. Writes that changed nothing (`unchanged`) notify nobody.
 * https://www.medplum.com/docs/subscriptions/subscriptions-basics
 */

import { setMaxListeners } from 'node:events';
import type { BackgroundJobInteraction, WithId } from '@medplum/core';
import { resourceMatchesSubscriptionCriteria } from '@medplum/core';
import type { Subscription } from '@medplum/fhirtypes';
import type { Logger } from '../logging.ts';
import type { WriteEvent } from './memory-store.ts';
import { isActiveRestHook, type NotifiableInteraction } from './rest-hook-request.ts';
import { type RestHookRequest, type RestHookStyle, restHookAttempts, restHookRequest } from './rest-hook-styles.ts';

/** What the notifier needs from the store. */
export interface NotifierStore {
  listCurrent(resourceType: 'Subscription'): WithId<Subscription>[];
  currentVersionId(resourceType: string, id: string): string | undefined;
}

export interface NotifierTuning {
  /** First retry delay; doubles each retry (default 1000 ms). */
  readonly retryBaseDelayMs?: number;
  /** Ceiling of the retry delay (default 60 000 ms). */
  readonly retryMaxDelayMs?: number;
  /** Per-attempt timeout (default 30 000 ms). */
  readonly requestTimeoutMs?: number;
  /** Deliveries in flight at once (default 8). */
  readonly concurrency?: number;
}

export interface NotifierOptions extends NotifierTuning {
  readonly store: NotifierStore;
  readonly logger: Logger;
  /** Whose rest-hook deliveries to send (default Medplum's; the hapi profile sends HAPI's, rest-hook-styles.ts). */
  readonly style?: RestHookStyle;
}

export interface NotifierStats {
  /** Deliveries that got a 2xx. */
  delivered: number;
  /** Deliveries abandoned after the last attempt. */
  failed: number;
  /** HTTP attempts made, successful or not. */
  attempts: number;
}

export class SubscriptionNotifier {
  readonly stats: NotifierStats = { delivered: 0, failed: 0, attempts: 0 };
  private readonly store: NotifierStore;
  private readonly logger: Logger;
  private readonly retryBaseDelayMs: number;
  private readonly retryMaxDelayMs: number;
  private readonly requestTimeoutMs: number;
  private readonly concurrency: number;
  private readonly style: RestHookStyle;
  private readonly closing = new AbortController();
  private outstanding = 0;
  private idleWaiters: (() => void)[] = [];
  private inFlight = 0;
  private slotWaiters: (() => void)[] = [];

  constructor(options: NotifierOptions) {
    this.store = options.store;
    this.logger = options.logger;
    this.retryBaseDelayMs = options.retryBaseDelayMs ?? 1000;
    this.retryMaxDelayMs = options.retryMaxDelayMs ?? 60_000;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.concurrency = Math.max(1, options.concurrency ?? 8);
    this.style = options.style ?? 'medplum';
    // Every pending retry and request listens to this signal; there can be many at once.
    setMaxListeners(0, this.closing.signal);
  }

  /**
   * Schedules the notifications for committed writes. The active Subscriptions are taken now (at commit time);
   * nothing is sent before `answered` resolves (the writing request's response is out).
   */
  enqueue(events: readonly WriteEvent[], answered?: Promise<void>): void {
    if (this.closing.signal.aborted) return;
    const notifiable = events.filter((e) => e.interaction !== 'unchanged');
    if (notifiable.length === 0) return;
    const subscriptions = this.store.listCurrent('Subscription').filter(isActiveRestHook);
    if (subscriptions.length === 0) return;
    for (const event of notifiable) {
      this.track(this.dispatch(event, subscriptions, answered));
    }
  }

  /** Resolves when no delivery is pending, waiting for a retry, or in flight. */
  waitForIdle(): Promise<void> {
    if (this.outstanding === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops scheduling, aborts requests in flight and pending retries, and resolves once all have wound down. */
  async close(): Promise<void> {
    this.closing.abort();
    await this.waitForIdle();
  }

  private track(work: Promise<void>): void {
    this.outstanding++;
    work
      .catch((err: unknown) => {
        this.logger.error({ error: err instanceof Error ? err.name : 'unknown' }, 'sandbox notification failed');
      })
      .finally(() => {
        this.outstanding--;
        if (this.outstanding === 0) {
          const waiters = this.idleWaiters;
          this.idleWaiters = [];
          for (const resolve of waiters) resolve();
        }
      });
  }

  private async dispatch(
    event: WriteEvent,
    subscriptions: readonly WithId<Subscription>[],
    answered: Promise<void> | undefined,
  ): Promise<void> {
    if (answered) await untilSettledOrAborted(answered, this.closing.signal);
    const interaction = event.interaction as NotifiableInteraction;
    const deliveries: Promise<void>[] = [];
    for (const subscription of subscriptions) {
      let matches = false;
      try {
        matches = await resourceMatchesSubscriptionCriteria({
          resource: event.resource,
          subscription,
          context: { interaction: interaction as BackgroundJobInteraction },
          getPreviousResource: async () => event.previous,
        });
      } catch {
        this.logger.warn({ subscription: subscription.id }, 'sandbox subscription criteria could not be evaluated');
      }
      if (matches) deliveries.push(this.deliver(subscription, event, interaction));
    }
    await Promise.all(deliveries);
  }

  private async deliver(
    subscription: WithId<Subscription>,
    event: WriteEvent,
    interaction: NotifiableInteraction,
  ): Promise<void> {
    const { resource } = event;
    const request = restHookRequest(this.style, subscription, resource, interaction);
    if (!request) return;
    const maxAttempts = restHookAttempts(this.style, subscription);
    const logFields = {
      subscription: subscription.id,
      resourceType: resource.resourceType,
      id: resource.id,
      versionId: resource.meta?.versionId,
      interaction,
    };
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      if (attempt > 1) {
        await abortableSleep(this.retryDelay(attempt), this.closing.signal);
      }
      if (this.closing.signal.aborted) return;
      const dropReason = this.dropReason(subscription.id, event, interaction, attempt);
      if (dropReason) {
        this.logger.debug({ ...logFields, attempt, reason: dropReason }, 'sandbox notification dropped');
        return;
      }
      const result = await this.send(request);
      if (result.ok) {
        this.stats.delivered++;
        this.logger.debug({ ...logFields, attempt, status: result.status }, 'sandbox notification delivered');
        return;
      }
      if (this.closing.signal.aborted) return;
      this.logger.warn(
        { ...logFields, attempt, maxAttempts, status: result.status, error: result.error },
        'sandbox notification attempt failed',
      );
    }
    this.stats.failed++;
    this.logger.warn({ ...logFields, maxAttempts }, 'sandbox notification abandoned');
  }

  /** Why a delivery should not be (re)tried now, as Medplum's worker decides; undefined = go ahead. */
  private dropReason(
    subscriptionId: string,
    event: WriteEvent,
    interaction: NotifiableInteraction,
    attempt: number,
  ): string | undefined {
    const current = this.store.listCurrent('Subscription').find((s) => s.id === subscriptionId);
    if (!current || !isActiveRestHook(current)) return 'subscription inactive';
    if (interaction === 'delete') return undefined;
    const currentVersion = this.store.currentVersionId(event.resource.resourceType, event.resource.id);
    if (!currentVersion) return 'resource deleted';
    if (attempt > 1 && currentVersion !== event.resource.meta?.versionId) return 'resource superseded';
    return undefined;
  }

  private retryDelay(attempt: number): number {
    return Math.min(this.retryMaxDelayMs, this.retryBaseDelayMs * 2 ** (attempt - 2));
  }

  private async send(request: RestHookRequest): Promise<{ ok: boolean; status?: number; error?: string }> {
    await this.acquireSlot();
    try {
      if (this.closing.signal.aborted) return { ok: false, error: 'closed' };
      this.stats.attempts++;
      const response = await fetch(request.url, {
        method: request.method,
        headers: request.headers,
        body: request.body,
        redirect: 'manual',
        signal: AbortSignal.any([this.closing.signal, AbortSignal.timeout(this.requestTimeoutMs)]),
      });
      await response.arrayBuffer().catch(() => undefined);
      return { ok: response.status >= 200 && response.status < 300, status: response.status };
    } catch (err) {
      return { ok: false, error: err instanceof Error ? err.name : 'error' };
    } finally {
      this.releaseSlot();
    }
  }

  private async acquireSlot(): Promise<void> {
    if (this.inFlight < this.concurrency) {
      this.inFlight++;
      return;
    }
    await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
  }

  private releaseSlot(): void {
    const next = this.slotWaiters.shift();
    if (next) next();
    else this.inFlight--;
  }
}

function untilSettledOrAborted(promise: Promise<void>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      signal.removeEventListener('abort', done);
      resolve();
    };
    signal.addEventListener('abort', done, { once: true });
    promise.then(done, done);
  });
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
