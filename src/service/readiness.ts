/** What /readyz checks (database, FHIR server, backlog) and what /metrics reads before a scrape (queue depth). */
import type { MedplumClient } from '@medplum/core';
import { probeFhirServer } from '../fhir/capabilities.ts';
import type { Database } from '../queue/database.ts';
import type { JobQueue } from '../queue/job-queue.ts';
import type { ReadinessCheck } from '../server/health-routes.ts';
import type { Metrics } from '../server/metrics.ts';

/** A backlog this long makes the instance not ready (a load balancer sends its traffic elsewhere). */
const BACKLOG_NOT_READY = 10_000;
/** Each readiness check answers within this (a probe must not hang on a stalled server). */
const READINESS_TIMEOUT_MS = 2_000;

/** The readiness checks of a running service. */
export function readinessChecks(db: Database, client: MedplumClient, queue: JobQueue): ReadinessCheck[] {
  return [
    { name: 'database', check: async () => ({ ok: await db.ping(READINESS_TIMEOUT_MS) }) },
    { name: 'fhir-server', check: async () => ({ ok: await probeFhirServer(client, READINESS_TIMEOUT_MS) }) },
    {
      name: 'backlog',
      check: async () => {
        const s = await queue.stats();
        return {
          ok: s.queued < BACKLOG_NOT_READY,
          detail: { queued: s.queued, active: s.active, deadLettered: s.deadLettered },
        };
      },
    },
  ];
}

/** Sets the queue-depth gauges from the queue's counts (run before each scrape). */
export function queueDepthScraper(queue: JobQueue, metrics: Metrics): () => Promise<void> {
  return async () => {
    const s = await queue.stats();
    metrics.queueDepth.set({ state: 'queued' }, s.queued);
    metrics.queueDepth.set({ state: 'active' }, s.active);
    metrics.queueDepth.set({ state: 'dead-lettered' }, s.deadLettered);
    for (const [kind, n] of Object.entries(queue.concurrency())) metrics.queueConcurrency.set({ kind }, n);
  };
}
