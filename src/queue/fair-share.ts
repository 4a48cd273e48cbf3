/**
 * Fair ordering across senders (no I/O): workers fetch the highest priority first (then the oldest), so each job a
 * sender queues gets a priority one lower than its previous one. A sender that queues a thousand jobs at once does
 * not make another sender's next job wait behind all of them: that job runs next, and the senders' jobs interleave
 * from then on. A sender's count starts again once it has queued nothing for `windowMs`. Per process (replicas each
 * count their own senders), and approximate where jobs coalesce: a job folded into one already waiting keeps the
 * waiting job's place.
 */

/** The lowest priority given: a sender's millionth job and later ones share it. */
const LOWEST = -1_000_000;
const PRUNE_AT = 10_000;

export interface FairShare {
  /** The priorities of the next `count` jobs of `sender` (0, -1, -2, ... from its first job in the window). */
  priorities(sender: string, count: number): number[];
}

/**
 * Creates the per-sender counter.
 * @param windowMs - A sender idle this long starts again from priority 0 (default one minute).
 * @param now - The clock, for tests.
 * @returns The counter.
 */
export function createFairShare(windowMs = 60_000, now: () => number = Date.now): FairShare {
  const senders = new Map<string, { queued: number; at: number }>();
  return {
    priorities(sender, count) {
      const t = now();
      const seen = senders.get(sender);
      const from = seen && t - seen.at < windowMs ? seen.queued : 0;
      senders.delete(sender);
      senders.set(sender, { queued: from + count, at: t });
      // Senders idle past the window count from zero again; forget them, oldest first (insertion order).
      if (senders.size > PRUNE_AT) {
        for (const [name, s] of senders) {
          if (t - s.at < windowMs) break;
          senders.delete(name);
        }
      }
      return Array.from({ length: count }, (_, i) => Math.max(LOWEST, 0 - (from + i)));
    },
  };
}
