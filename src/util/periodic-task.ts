/**
 * Runs a task every `intervalMs` (the first run at start). Runs never overlap: runOnce() during a run returns that
 * run. A failed run is reported to `onError` and the task tries again at the next interval. The timer does not keep
 * the process alive; stop() waits for a run in progress.
 */
export interface PeriodicTask<T> {
  /** Starts the runs: the first after `firstDelayMs` (default at once), then every interval. */
  start(firstDelayMs?: number): void;
  stop(): Promise<void>;
  runOnce(): Promise<T>;
}

export function createPeriodicTask<T>(
  task: () => Promise<T>,
  intervalMs: number,
  onError: (err: unknown) => void,
): PeriodicTask<T> {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<T> | undefined;
  let stopped = true;

  const runOnce = (): Promise<T> => {
    running ??= task().finally(() => {
      running = undefined;
    });
    return running;
  };

  const schedule = (delay: number): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      runOnce()
        .catch(onError)
        .finally(() => schedule(intervalMs));
    }, delay);
    timer.unref();
  };

  return {
    start(firstDelayMs = 0) {
      if (!stopped) return;
      stopped = false;
      schedule(firstDelayMs);
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await running?.catch(() => undefined);
    },
    runOnce,
  };
}
