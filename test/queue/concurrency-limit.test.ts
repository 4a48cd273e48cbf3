import { describe, expect, it } from 'vitest';
import { type ConcurrencyLimit, createConcurrencyLimit, type JobSample } from '../../src/queue/concurrency-limit.ts';

const busy = (durationMs: number): JobSample => ({ durationMs, overloaded: false, saturated: true });
const idle = (durationMs: number): JobSample => ({ durationMs, overloaded: false, saturated: false });
const refused: JobSample = { durationMs: 5, overloaded: true, saturated: true };

/** Feeds `n` samples; returns the limit after each. */
const feed = (limit: ConcurrencyLimit, n: number, sample: JobSample): number[] =>
  Array.from({ length: n }, () => limit.record(sample));

describe('the adaptive concurrency limit', () => {
  it('grows by one per window while every slot is busy and the latency holds, up to the maximum', () => {
    const limit = createConcurrencyLimit({ initial: 2, max: 4 });
    // Windows are twice the limit (at least 4 jobs): 4 jobs at 2, 6 at 3, 8 at 4.
    expect(feed(limit, 4, busy(20))).toEqual([2, 2, 2, 3]);
    expect(feed(limit, 6, busy(25)).at(-1)).toBe(4);
    expect(feed(limit, 40, busy(20)).at(-1)).toBe(4);
  });

  it('does not grow while slots are idle (no more work than slots)', () => {
    const limit = createConcurrencyLimit({ initial: 2, max: 8 });
    expect(feed(limit, 40, idle(20)).at(-1)).toBe(2);
  });

  it('stops growing when the latency rises, and shrinks when it has clearly risen', () => {
    const limit = createConcurrencyLimit({ initial: 4, min: 1, max: 16 });
    feed(limit, 8, busy(20));
    expect(limit.limit).toBe(5);
    // 1.5x..3x the best: held where it is.
    feed(limit, 10, busy(40));
    expect(limit.limit).toBe(5);
    // Over 3x the best: one less per window.
    feed(limit, 10, busy(100));
    expect(limit.limit).toBe(4);
    feed(limit, 8, busy(100));
    expect(limit.limit).toBe(3);
  });

  it('halves at an overload answer, once per cool-down, never below the minimum', () => {
    let t = 0;
    const limit = createConcurrencyLimit({ initial: 16, min: 3, max: 16, coolDownMs: 1_000 }, () => t);
    expect(limit.record(refused)).toBe(8);
    // The same burst of refusals (within the cool-down) counts once.
    expect(feed(limit, 5, refused)).toEqual([8, 8, 8, 8, 8]);
    t = 1_000;
    expect(limit.record(refused)).toBe(4);
    t = 2_000;
    expect(limit.record(refused)).toBe(3);
    t = 3_000;
    expect(limit.record(refused)).toBe(3);
  });

  it('recovers after an overload once answers are quick again', () => {
    let t = 0;
    const limit = createConcurrencyLimit({ initial: 8, max: 8 }, () => t);
    feed(limit, 16, busy(20));
    limit.record(refused);
    expect(limit.limit).toBe(4);
    t = 5_000;
    feed(limit, 60, busy(20));
    expect(limit.limit).toBe(8);
  });

  it('follows a server that became slower for good (the best latency drifts up)', () => {
    const limit = createConcurrencyLimit({ initial: 2, max: 3 });
    feed(limit, 4, busy(10));
    expect(limit.limit).toBe(3);
    // Six times slower: down to the minimum first...
    const limits = feed(limit, 6 * 30, busy(60));
    expect(Math.min(...limits)).toBe(1);
    // ...then, the best having drifted up to the new normal, back up while every slot is busy.
    expect(limit.limit).toBe(3);
  });

  it.each([
    [{ initial: 0, max: 4 }, 1],
    [{ initial: 9, max: 4 }, 4],
    [{ initial: 2, min: 3, max: 8 }, 3],
    [{ initial: 5, min: 5, max: 5 }, 5],
  ])('keeps the start within its bounds: %o starts at %i', (options, expected) => {
    expect(createConcurrencyLimit(options).limit).toBe(expected);
  });

  it('stays fixed when the minimum and the maximum are equal', () => {
    const limit = createConcurrencyLimit({ initial: 4, min: 4, max: 4 });
    feed(limit, 50, busy(10));
    limit.record(refused);
    feed(limit, 50, busy(500));
    expect(limit.limit).toBe(4);
  });
});
