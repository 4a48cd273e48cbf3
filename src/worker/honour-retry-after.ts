/**
 * A FHIR server that answers 429 or 503 with Retry-After says when it can take the request again. The queue's
 * own backoff does not know that, so a failed job first waits what the server asked (bounded, and cut short when
 * the job is taken away), then fails into the queue's retry. No wait on the last attempt: nothing follows it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { retryAfterMs } from '../fhir/write-results.ts';
import type { JobContext } from '../queue/job-queue.ts';

/** Longest Retry-After honoured by holding the job; a longer one is left to the queue's backoff. */
export const MAX_RETRY_AFTER_WAIT_MS = 60_000;

export async function waitForRetryAfter(
  err: unknown,
  context: Pick<JobContext, 'attempt' | 'attempts' | 'signal'>,
): Promise<void> {
  const wait = retryAfterMs(err);
  if (wait === undefined || wait <= 0 || context.attempt >= context.attempts) return;
  await sleep(Math.min(wait, MAX_RETRY_AFTER_WAIT_MS), undefined, { signal: context.signal }).catch(() => undefined);
}
