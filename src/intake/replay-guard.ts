/**
 * Replay guard for signed notifications. Medplum's X-Signature is an HMAC of the body alone, with no timestamp or
 * nonce (https://www.medplum.com/docs/subscriptions/subscription-extensions), so a signed request someone captured
 * stays valid for ever. A delivery whose exact bytes, read to the same jobs, were already queued within the window is
 * a replay: nothing is queued again. It is answered 200 with an informational OperationOutcome, because the same
 * bytes also arrive when the server retries after our 200 was lost, and an error there would only make it retry
 * again.
 *
 * Why dropping a copy is safe: a notification is only a trigger. Its jobs carry ids (a patient, or a resource
 * reference to resolve), never clinical values, and the worker re-reads the patient's whole context from the FHIR
 * server (worker/assess-patient.ts via fhir/read-patient-context.ts; worker/resolve-resource.ts reads the resource
 * or its history). The first copy already queued that read, and it sees the server's latest data, so a second copy
 * of the same bytes can add nothing. Deliveries that carry no body (HAPI's empty POST: "something changed, look")
 * are not guarded: their bytes are the same every time, so a repeat is a new signal, not a copy.
 *
 * Bearer-authenticated deliveries are not guarded: whoever can replay one holds the secret and can forge any
 * notification. Backport notifications carry event numbers, and one already seen for its subscription is refused as a
 * duplicate earlier (parse-notification.ts, event-number-tracker.ts).
 *
 * Memory is bounded: at most `maxEntries` keys (SHA-256 hex; the oldest goes first when full), each forgotten
 * `windowMs` after it was claimed. The window is per process: with several instances a copy sent to another one
 * queues one more trigger, no more.
 */
import { createHash } from 'node:crypto';

export const REPLAY_WINDOW_MS = 10 * 60_000;
export const REPLAY_MAX_ENTRIES = 10_000;

export interface ReplayGuard {
  /** Claims a delivery key; false when it was claimed within the window (a replay). */
  claim(key: string): boolean;
  /** Gives a claim back: its jobs could not be queued, so the server's retry must go through. */
  release(key: string): void;
  /** Keys held now (for tests: memory stays bounded). */
  size(): number;
}

/** The key of one delivery: the exact body bytes and the jobs they were read to (headers can change the jobs). */
export function deliveryKey(rawBody: Buffer, jobs: unknown): string {
  return createHash('sha256')
    .update(createHash('sha256').update(rawBody).digest())
    .update(JSON.stringify(jobs))
    .digest('hex');
}

export function createReplayGuard(
  options: { windowMs?: number; maxEntries?: number; now?: () => number } = {},
): ReplayGuard {
  const windowMs = options.windowMs ?? REPLAY_WINDOW_MS;
  const maxEntries = options.maxEntries ?? REPLAY_MAX_ENTRIES;
  const now = options.now ?? Date.now;
  // Key -> when it expires. Insertion order is claim order, so the oldest entries are always first.
  const expiries = new Map<string, number>();

  const forgetExpired = (at: number): void => {
    for (const [key, expiry] of expiries) {
      if (expiry > at) break;
      expiries.delete(key);
    }
  };

  return {
    claim(key) {
      const at = now();
      forgetExpired(at);
      if (expiries.has(key)) return false;
      expiries.set(key, at + windowMs);
      while (expiries.size > maxEntries) {
        const oldest = expiries.keys().next().value as string;
        expiries.delete(oldest);
      }
      return true;
    },
    release(key) {
      expiries.delete(key);
    },
    size: () => expiries.size,
  };
}
