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

export function createChartThreads(): ChartThreads {
  let worker: Worker | undefined;
  let nextId = 0;
  const pending = new Map<number, (svg: string | undefined) => void>();

  const settleAll = (): void => {
    for (const resolve of pending.values()) resolve(undefined);
    pending.clear();
  };
  const start = (): Worker => {
    const started = new Worker(ENTRY, { resourceLimits: LIMITS });
    started.unref();
    started.on('message', (answer: DrawAnswer) => {
      const resolve = pending.get(answer.id);
      pending.delete(answer.id);
      resolve?.('svg' in answer ? answer.svg : undefined);
      if (pending.size === 0) started.unref();
    });
    const lost = (): void => {
      if (worker === started) worker = undefined;
      settleAll();
    };
    started.on('error', lost);
    started.on('exit', lost);
    return started;
  };

  return {
    draw(model, width) {
      worker ??= start();
      const id = nextId++;
      const request: DrawRequest = { id, model, ...(width !== undefined ? { width } : {}) };
      // Referenced while a drawing is pending, so a process waiting only for a chart does not exit under it.
      worker.ref();
      return new Promise((resolve) => {
        pending.set(id, resolve);
        worker?.postMessage(request);
      });
    },
    async close() {
      const stopping = worker;
      worker = undefined;
      settleAll();
      await stopping?.terminate();
    },
  };
}
