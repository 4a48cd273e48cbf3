import { describe, expect, it } from 'vitest';
import { FhirRequestError } from '../../src/fhir/write-results.ts';
import { outcome } from '../../src/fhir-model/outcomes.ts';
import { waitForRetryAfter } from '../../src/worker/honour-retry-after.ts';

const unavailable = (retryAfterMs?: number) =>
  new FhirRequestError(outcome('transient', 'FHIR server unavailable'), 503, { retryable: true, retryAfterMs });

async function elapsed(fn: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

describe('waitForRetryAfter', () => {
  const live = { attempt: 1, attempts: 3, signal: new AbortController().signal };

  it.each([
    ['no Retry-After', unavailable(), live, false],
    ['an error that is not from the FHIR server', new Error('x'), live, false],
    ['the last attempt (nothing follows it)', unavailable(30_000), { ...live, attempt: 3 }, false],
    ['Retry-After 200 ms on attempt 1 of 3', unavailable(200), live, true],
  ])('%s -> waits: %s', async (_name, err, context, waits) => {
    const ms = await elapsed(() => waitForRetryAfter(err, context));
    // Lower bound for a wait; for no wait, far below the 30 s it would otherwise take (not a timing benchmark).
    if (waits) expect(ms).toBeGreaterThanOrEqual(190);
    else expect(ms).toBeLessThan(5_000);
  });

  it('stops waiting when the job is taken away', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 20);
    const ms = await elapsed(() =>
      waitForRetryAfter(unavailable(10_000), { attempt: 1, attempts: 3, signal: controller.signal }),
    );
    expect(ms).toBeLessThan(5_000);
  });
});
