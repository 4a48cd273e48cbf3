/**
 * The chart thread's entry (chart-threads.ts starts it): draws chart models to SVG with the same code as the main
 * thread (render-svg.ts), so a drawing is the same bytes wherever it was made.
 */
import { parentPort } from 'node:worker_threads';
import { renderChartModelSvg } from './render-svg.ts';
import type { ChartModel } from './shared/chart-model.ts';

export interface DrawRequest {
  id: number;
  model: ChartModel;
  width?: number;
}

export type DrawAnswer = { id: number; svg: string } | { id: number; error: string };

parentPort?.on('message', ({ id, model, width }: DrawRequest) => {
  let answer: DrawAnswer;
  try {
    answer = { id, svg: renderChartModelSvg(model, width) };
  } catch (err) {
    // The charting library refuses some extreme inputs; the caller then leaves the chart to the main thread.
    answer = { id, error: err instanceof Error ? err.name : 'Error' };
  }
  parentPort?.postMessage(answer);
});
