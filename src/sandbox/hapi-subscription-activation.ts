/**
 * HAPI activates Subscriptions itself: one written `requested` is set `active` by the server shortly after the write
 * (SubscriptionActivatingSubscriber). The hapi profile does the same, as a unit of work of its own in the sandbox's
 * queue after the writing one has committed.
 */
import type { WithId } from '@medplum/core';
import type { Subscription } from '@medplum/fhirtypes';
import type { Logger } from '../logging.ts';
import type { SandboxRepository, WriteEvent } from './memory-store.ts';
import type { SerialQueue } from './serial-queue.ts';

/**
 * Activates the `requested` rest-hook Subscriptions among committed writes (later, in the queue).
 * @param events - The committed writes.
 * @param repo - The sandbox's repository.
 * @param queue - The sandbox's one queue.
 * @param logger - Where a failed activation is told.
 */
export function activateRequestedSubscriptions(
  events: readonly WriteEvent[],
  repo: SandboxRepository,
  queue: SerialQueue,
  logger: Logger,
): void {
  const requested = events
    .filter((e) => e.interaction === 'create' || e.interaction === 'update')
    .map((e) => e.resource)
    .filter((r): r is WithId<Subscription> => r.resourceType === 'Subscription' && r.status === 'requested');
  if (requested.length === 0) return;
  void queue
    .run(() =>
      repo.withTransaction(async () => {
        for (const written of requested) {
          const current = repo.listCurrent<Subscription>('Subscription').find((s) => s.id === written.id);
          if (current?.status !== 'requested' || current.meta?.versionId !== written.meta?.versionId) continue;
          await repo.updateResource({ ...current, status: 'active' });
        }
      }),
    )
    .catch(() => logger.warn({ subscriptions: requested.length }, 'sandbox could not activate Subscriptions'));
}
