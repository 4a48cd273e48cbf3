/**
 * QUEUE_CONCURRENCY_MIN and QUEUE_CONCURRENCY_MAX: the range within which the assessments a process runs at once
 * adapt to the FHIR server's answers (src/queue/concurrency-limit.ts), QUEUE_CONCURRENCY being where it starts.
 * Equal bounds fix it.
 */

export interface ConcurrencyRange {
  min: number;
  max: number;
}

/** The most a process grows to by default (or QUEUE_CONCURRENCY, when that is higher). */
export const DEFAULT_MAX_CONCURRENCY = 16;
const LIMIT = 64;

/**
 * Reads the range around the starting concurrency; each problem goes to `problems` as `NAME: message`.
 * @param raw - Reads one environment variable (trimmed, undefined when empty).
 * @param problems - Where problems are recorded.
 * @param initial - QUEUE_CONCURRENCY.
 * @returns The range (within which `initial` lies), with defaults.
 */
export function readConcurrencyRange(
  raw: (name: string) => string | undefined,
  problems: string[],
  initial: number,
): ConcurrencyRange {
  const whole = (name: string): number | undefined => {
    const value = raw(name);
    if (value === undefined) return undefined;
    const n = /^\d+$/.test(value) ? Number(value) : Number.NaN;
    if (n >= 1 && n <= LIMIT) return n;
    problems.push(`${name}: must be a whole number between 1 and ${LIMIT}`);
    return undefined;
  };
  const min = whole('QUEUE_CONCURRENCY_MIN');
  const max = whole('QUEUE_CONCURRENCY_MAX');
  if (min !== undefined && min > initial)
    problems.push(`QUEUE_CONCURRENCY_MIN: must be at most QUEUE_CONCURRENCY (${initial})`);
  if (max !== undefined && max < initial)
    problems.push(`QUEUE_CONCURRENCY_MAX: must be at least QUEUE_CONCURRENCY (${initial})`);
  return {
    min: Math.min(min ?? 1, initial),
    max: Math.max(max ?? Math.max(DEFAULT_MAX_CONCURRENCY, initial), initial),
  };
}
