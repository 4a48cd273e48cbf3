/**
 * Prometheus metrics (prom-client), one registry per service instance so tests can run several side by side.
 * Labels carry shapes, outcomes and status classes only: never ids.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export interface Metrics {
  registry: Registry;
  notifications: Counter<'shape' | 'outcome'>;
  jobs: Counter<'kind' | 'outcome'>;
  queueDepth: Gauge<'state'>;
  /** Jobs a kind may run at once in this process now (it adapts to the FHIR server's answers). */
  queueConcurrency: Gauge<'kind'>;
  assessmentSeconds: Histogram;
  writeSeconds: Histogram;
  fhirRequests: Counter<'operation' | 'status'>;
  /** Outputs not written: the server cannot take the type, or someone else changed or deleted the resource. */
  outputsNotWritten: Counter<'type' | 'reason'>;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
  return {
    registry,
    notifications: new Counter({
      name: 'irecist_notifications_total',
      help: 'Notifications received, by shape and outcome',
      labelNames: ['shape', 'outcome'],
      registers: [registry],
    }),
    jobs: new Counter({
      name: 'irecist_jobs_total',
      help: 'Jobs handled, by kind and outcome',
      labelNames: ['kind', 'outcome'],
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: 'irecist_queue_jobs',
      help: 'Jobs in the queue, by state',
      labelNames: ['state'],
      registers: [registry],
    }),
    queueConcurrency: new Gauge({
      name: 'irecist_queue_concurrency',
      help: 'Jobs of a kind this process runs at once now, by kind',
      labelNames: ['kind'],
      registers: [registry],
    }),
    assessmentSeconds: new Histogram({
      name: 'irecist_assessment_seconds',
      help: 'Map, assess and render time per patient',
      buckets,
      registers: [registry],
    }),
    writeSeconds: new Histogram({
      name: 'irecist_write_seconds',
      help: 'Time to write one transaction to the FHIR server',
      buckets,
      registers: [registry],
    }),
    fhirRequests: new Counter({
      name: 'irecist_fhir_requests_total',
      help: 'Requests to the FHIR server, by operation and status class',
      labelNames: ['operation', 'status'],
      registers: [registry],
    }),
    outputsNotWritten: new Counter({
      name: 'irecist_outputs_not_written_total',
      help: 'Outputs not written, by resource type and reason (not-writable, changed-by-others, deleted-by-others)',
      labelNames: ['type', 'reason'],
      registers: [registry],
    }),
  };
}
