/** Wraps the FHIR client's fetch to count requests for /metrics. Labels are kinds and status classes, never ids. */
import type { Metrics } from '../server/metrics.ts';
import type { FetchFn } from './client-factory.ts';

/** Counts every request to the FHIR server by operation and status class (the metric irecist_fhir_requests_total). */
export function countingFetch(inner: FetchFn, metrics: Metrics, baseUrl: string): FetchFn {
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
      metrics.fhirRequests.inc({ operation, status: `${Math.floor(res.status / 100)}xx` });
      return res;
    } catch (err) {
      metrics.fhirRequests.inc({ operation, status: 'network-error' });
      throw err;
    }
  };
}
