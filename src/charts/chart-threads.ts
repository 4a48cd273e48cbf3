/**
 * Chart drawing off the event loop. One ECharts drawing costs about 8 ms at 10 scans and more with a longer history,
 * all of it synchronous: on the service's main thread it delays every notification's acknowledgement and every
 * database round trip behind it (issue #13). A worker thread draws instead; the main thread only waits for the
 * answer. The thread starts on the first drawing, does not keep the process alive, and is started again after a
 * crash; a drawing it could not make is reported as undefined (the caller draws it itself or leaves it out).
 * https://nodejs.org/api/worker_threads.html
 */
import { Worker } from 'node:worker_threads';
import type { DrawAnswer, DrawRequest } from './chart-thread.ts';
import type { ChartModel } from './shared/chart-model.ts';

export interface ChartThreads {
  /** The SVG of a chart model, drawn on the chart thread; undefined when it could not be drawn there. */
  draw(model: ChartModel, width?: number): Promise<string | undefined>;
  /** Stops the thread (pending drawings answer undefined). */
  close(): Promise<void>;
}

const ENTRY = new URL('./chart-thread.ts', import.meta.url);
/**
 * A thread's default young generation is sized from the machine's memory: about 210 MB more RSS on a 24 GB machine,
 * against 50-70 MB with 16 MB, and drawings as fast as inline (8 MB: 55 MB, 20% slower). The old generation is capped
 * well above what a 1,000-scan chart needs; a thread over its limit is stopped by Node, its drawings answer undefined
 * (drawn inline) and the next chart starts a new thread.
 */
const LIMITS = { maxYoungGenerationSizeMb: 16, maxOldGenerationSizeMb: 512 };

interface Thread {
  worker: Worker;
  /** This thread's drawings awaiting an answer (a crash answers only its own). */
  pending: Map<number, (svg: string | undefined) => void>;
}

function settle(thread: Thread): void {
  for (const resolve of thread.pending.values()) resolve(undefined);
  thread.pending.clear();
}

export function createChartThreads(): ChartThreads {
  let current: Thread | undefined;
  let nextId = 0;

  const start = (): Thread => {
    const thread: Thread = { worker: new Worker(ENTRY, { resourceLimits: LIMITS }), pending: new Map() };
    thread.worker.unref();
    thread.worker.on('message', (answer: DrawAnswer) => {
      const resolve = thread.pending.get(answer.id);
      thread.pending.delete(answer.id);
      resolve?.('svg' in answer ? answer.svg : undefined);
      if (thread.pending.size === 0) thread.worker.unref();
    });
    const lost = (): void => {
      if (current === thread) current = undefined;
      settle(thread);
    };
    thread.worker.on('error', lost);
    thread.worker.on('exit', lost);
    return thread;
  };

  return {
    draw(model, width) {
      current ??= start();
      const thread = current;
      const id = nextId++;
      const request: DrawRequest = { id, model, ...(width !== undefined ? { width } : {}) };
      // Referenced while a drawing is pending, so a process waiting only for a chart does not exit under it.
      thread.worker.ref();
      return new Promise((resolve) => {
        thread.pending.set(id, resolve);
        thread.worker.postMessage(request);
      });
    },
    async close() {
      const stopping = current;
      current = undefined;
      if (!stopping) return;
      settle(stopping);
      await stopping.worker.terminate();
    },
  };
}
