/**
 * The workers of one job kind in this process: one pg-boss worker per slot (each `work()` with one job at a time), as
 * many slots as the concurrency limit allows (concurrency-limit.ts), so that:
 * - a slot takes its next job as soon as it finishes one: the handler wakes its own worker (`notifyWorker`) before
 *   pg-boss completes the job, so the worker fetches again at once instead of waiting out its polling interval. A
 *   fetch that finds nothing waits as before, until a NOTIFY (a new job) or the polling interval;
 * - the limit follows the FHIR server: each finished job is a sample (duration, overload answer, whether every slot
 *   was busy when it started); a higher limit starts a slot, a lower one stops the newest slot once its job is done.
 * - on a database only this process uses, a commit of new jobs wakes just as many idle slots (`wakeIdle`,
 *   local-wake.ts) instead of pg-boss's NOTIFY waking them all;
 * pg-boss keeps everything else per slot: heartbeats, expiry and abort signals, graceful stop.
 * https://pgboss.io/api/workers
 */
import type { JobWithMetadata, PgBoss } from 'pg-boss';
import { logger } from '../logging.ts';
import { createConcurrencyLimit } from './concurrency-limit.ts';
import { errorFields } from './job-runner.ts';
import type { JobKind } from './jobs.ts';

export interface WorkerPoolOptions {
  /** Slots to start with. */
  concurrency: number;
  /** The range the limit adapts within (default: fixed at `concurrency`). */
  minConcurrency?: number;
  maxConcurrency?: number;
  /** Errors that mean the server is overloaded (429, 503, a timeout): the limit halves. */
  isOverload?: (err: unknown) => boolean;
  /** Idle slots look for due jobs this often (a NOTIFY wakes them sooner). */
  pollingIntervalSeconds: number;
}

export interface WorkerPool {
  /** Slots running now (the current limit). */
  readonly size: number;
  /** Wakes up to `jobs` slots that are not running a job (each fetches at once); returns how many it woke. */
  wakeIdle(jobs: number): number;
  /** Stops every slot (pg-boss's own stop does the waiting; this only keeps new slots from starting). */
  close(): void;
}

/**
 * Starts the pool's first slots on a started pg-boss.
 * @param boss - pg-boss.
 * @param kind - The job kind (queue).
 * @param options - Concurrency range, overload test, polling interval.
 * @param run - Runs one job; rejects when pg-boss should record a failure.
 * @returns The pool.
 */
export async function startWorkerPool<T>(
  boss: PgBoss,
  kind: JobKind,
  options: WorkerPoolOptions,
  run: (job: JobWithMetadata<T>) => Promise<void>,
): Promise<WorkerPool> {
  const limit = createConcurrencyLimit({
    initial: options.concurrency,
    min: options.minConcurrency ?? options.concurrency,
    max: options.maxConcurrency ?? options.concurrency,
  });
  const slots: { id?: string; busy: boolean }[] = [];
  let nextToWake = 0;
  let running = 0;
  let closed = false;
  let resizing: Promise<void> = Promise.resolve();

  const startSlot = async (): Promise<void> => {
    const slot: { id?: string; busy: boolean } = { busy: false };
    slots.push(slot);
    const handle = async (batch: JobWithMetadata<T>[]): Promise<void> => {
      for (const job of batch) {
        running++;
        slot.busy = true;
        const saturated = running >= slots.length;
        const started = performance.now();
        let overloaded = false;
        try {
          await run(job);
        } catch (err) {
          overloaded = options.isOverload?.(err) ?? false;
          throw err;
        } finally {
          running--;
          slot.busy = false;
          // Wake this slot's worker: it fetches its next job as soon as pg-boss has recorded this one.
          if (slot.id) boss.notifyWorker(slot.id);
          const before = limit.limit;
          const after = limit.record({ durationMs: performance.now() - started, overloaded, saturated });
          if (after !== before) resize(after);
        }
      }
    };
    slot.id = await boss.work(
      kind,
      {
        localConcurrency: 1,
        batchSize: 1,
        includeMetadata: true,
        pollingIntervalSeconds: options.pollingIntervalSeconds,
        notifyPollingIntervalSeconds: options.pollingIntervalSeconds,
      },
      handle,
    );
  };

  const stopSlot = (): void => {
    const slot = slots.pop();
    if (slot?.id) void boss.offWork(kind, { id: slot.id, wait: false }).catch(() => undefined);
  };

  /** Brings the number of slots to `target`, one change at a time. */
  const resize = (target: number): void => {
    resizing = resizing
      .then(async () => {
        while (!closed && slots.length < target) await startSlot();
        while (!closed && slots.length > target) stopSlot();
        logger.debug({ kind, concurrency: slots.length }, 'Job concurrency changed');
      })
      .catch((err: unknown) => logger.warn({ kind, ...errorFields(err) }, 'Job concurrency change failed'));
  };

  for (let i = 0; i < limit.limit; i++) await startSlot();
  return {
    get size() {
      return slots.length;
    },
    wakeIdle(jobs) {
      // Round robin, so a burst of small commits does not wake the same slot again while its fetch is under way.
      const start = nextToWake;
      let woken = 0;
      for (let i = 0; i < slots.length && woken < jobs; i++) {
        const index = (start + i) % slots.length;
        const slot = slots[index];
        if (slot?.id && !slot.busy) {
          boss.notifyWorker(slot.id);
          woken++;
          nextToWake = (index + 1) % slots.length;
        }
      }
      return woken;
    },
    close() {
      closed = true;
    },
  };
}
