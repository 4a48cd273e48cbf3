/**
 * The last event number seen per topic-based Subscription (events-since-subscription-start), used to spot
 * missed notifications and duplicates. https://hl7.org/fhir/uv/subscriptions-backport/STU1.1/errors.html
 */

type MaybePromise<T> = T | Promise<T>;

/**
 * Storage for the last seen event number per Subscription id. The in-memory version below is for tests and the
 * sandbox; the service backs it with the database. `set` overwrites (a handshake may restart the count): callers
 * only call it after the jobs of that notification are durably queued.
 */
export interface EventNumberTracker {
  get(subscriptionId: string): MaybePromise<number | undefined>;
  set(subscriptionId: string, eventNumber: number): MaybePromise<void>;
}

/** One pending tracker write: apply it with {@link commitEventNumbers} once the jobs are queued. */
export interface EventNumberUpdate {
  subscriptionId: string;
  eventNumber: number;
}

export function createInMemoryEventNumberTracker(initial: Record<string, number> = {}): EventNumberTracker {
  const numbers = new Map<string, number>(Object.entries(initial));
  return {
    get: (subscriptionId) => numbers.get(subscriptionId),
    set: (subscriptionId, eventNumber) => {
      numbers.set(subscriptionId, eventNumber);
    },
  };
}

/** Writes the updates of one parsed notification, in order. */
export async function commitEventNumbers(
  updates: readonly EventNumberUpdate[],
  tracker: EventNumberTracker,
): Promise<void> {
  for (const u of updates) await tracker.set(u.subscriptionId, u.eventNumber);
}
