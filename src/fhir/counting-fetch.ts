/** Wraps the FHIR client's fetch to count requests for /metrics. Labels are kinds and status classes, never ids. */
import type { FetchFn } from './client-factory.ts';

/** Where the counts go (the metric irecist_fhir_requests_total, a prom-client Counter, fits). */
export interface RequestCounter {
  inc(labels: { operation: string; status: string }): void;
}

/** Counts every request to the FHIR server by operation and status class. */
export function countingFetch(inner: FetchFn, counter: RequestCounter, baseUrl: string): FetchFn {
  const basePath = new URL(baseUrl).pathname.replace(/\/+$/, '');
  return async (input, init) => {
    const method = (init?.method ?? 'GET').toUpperCase();
    const path = new URL(input).pathname;
    const operation =
      method === 'POST' && path.replace(/\/+$/, '') === basePath
        ? 'batch-or-transaction'
        : method === 'GET' && path.endsWith('/metadata')
          ? 'capabilities'
          : method.toLowerCase();
    try {
      const res = await inner(input, init);
      counter.inc({ operation, status: `${Math.floor(res.status / 100)}xx` });
      return res;
    } catch (err) {
      counter.inc({ operation, status: 'network-error' });
      throw err;
    }
  };
}
