/**
 * How many jobs of a kind a process runs at once, adapted to what the FHIR server answers (no I/O; the worker pool
 * applies it). Additive increase, multiplicative decrease, in the spirit of TCP congestion control and of
 * latency-based limiters (Netflix concurrency-limits "Vegas"/"Gradient"):
 * - an overload answer (429, 503, a timeout: `overloaded`) halves the limit at once, at most once per cool-down, so a
 *   burst of refusals from one moment counts once;
 * - every window of completed jobs (twice the limit, at least 4), the window's median duration is compared with the
 *   best window seen: while it holds (at most `growWithin` times the best) and the jobs found every slot busy (more
 *   work was waiting), the limit grows by one; when it has clearly risen (over `shrinkBeyond` times the best), the
 *   limit shrinks by one. The best drifts up 5% a window, so a server that became slower for good is followed.
 * The limit stays within [min, max]; min = max fixes it.
 */

export interface ConcurrencyLimitOptions {
  /** The limit to start with. */
  initial: number;
  /** Never fewer (default 1). */
  min?: number;
  /** Never more. */
  max: number;
  /** Growth while the window's median is at most this many times the best (default 1.5). */
  growWithin?: number;
  /** Shrink when the window's median is over this many times the best (default 3). */
  shrinkBeyond?: number;
  /** After a decrease, no other decrease for this long (default 1000 ms). */
  coolDownMs?: number;
}

export interface JobSample {
  /** How long the job took. */
  durationMs: number;
  /** The server said it is overloaded (429, 503) or did not answer in time. */
  overloaded: boolean;
  /** When the job started, every slot was busy: more work than slots. */
  saturated: boolean;
}

export interface ConcurrencyLimit {
  /** The current limit. */
  readonly limit: number;
  /** Takes one finished job into account; returns the limit after it. */
  record(sample: JobSample): number;
}

/** The median of a non-empty list. */
function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/**
 * Creates a limit.
 * @param options - Bounds, start and sensitivity.
 * @param now - The clock (milliseconds), for tests.
 * @returns The limit and the way to feed it.
 */
export function createConcurrencyLimit(
  options: ConcurrencyLimitOptions,
  now: () => number = () => performance.now(),
): ConcurrencyLimit {
  const min = Math.max(1, Math.round(options.min ?? 1));
  const max = Math.max(min, Math.round(options.max));
  const growWithin = options.growWithin ?? 1.5;
  const shrinkBeyond = options.shrinkBeyond ?? 3;
  const coolDownMs = options.coolDownMs ?? 1_000;
  let limit = Math.min(max, Math.max(min, Math.round(options.initial)));
  let best = Number.POSITIVE_INFINITY;
  let lastDecrease = Number.NEGATIVE_INFINITY;
  let durations: number[] = [];
  let saturated = 0;

  const startWindow = (): void => {
    durations = [];
    saturated = 0;
  };

  const endWindow = (): void => {
    const typical = median(durations);
    best = Math.min(typical, best * 1.05);
    if (typical <= best * growWithin && saturated * 2 >= durations.length) limit = Math.min(max, limit + 1);
    else if (typical > best * shrinkBeyond) limit = Math.max(min, limit - 1);
    startWindow();
  };

  return {
    get limit() {
      return limit;
    },
    record(sample) {
      if (sample.overloaded) {
        const t = now();
        if (t - lastDecrease >= coolDownMs) {
          lastDecrease = t;
          limit = Math.max(min, Math.floor(limit / 2));
          startWindow();
        }
        return limit;
      }
      durations.push(sample.durationMs);
      if (sample.saturated) saturated++;
      if (durations.length >= Math.max(4, limit * 2)) endWindow();
      return limit;
    },
  };
}
