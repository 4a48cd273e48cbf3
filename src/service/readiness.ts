/** What /readyz checks (database, FHIR server, backlog) and what /metrics reads before a scrape (queue depth). */
import type { MedplumClient } from '@medplum/core';
import { type Capabilities, probeFhirServer } from '../fhir/capabilities.ts';
import { planWrites } from '../fhir/write-plan.ts';
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

/**
 * The write plan in force (contract section 2, "Where a server cannot take an output"): how results are written and
 * which outputs this server cannot take. Not ready while the server's CapabilityStatement cannot be read.
 * @param capabilities - The server's capabilities (cached; re-read after a refused write).
 * @returns The check.
 */
export function writePlanCheck(capabilities: () => Promise<Capabilities>): ReadinessCheck {
  return {
    name: 'write-plan',
    check: async () => {
      const caps = await capabilities().catch(() => undefined);
      if (!caps) return { ok: false, detail: { plan: 'FHIR server CapabilityStatement not read yet' } };
      const plan = planWrites(caps);
      return { ok: true, detail: { mode: plan.mode, outputs: plan.outputs, plan: plan.lines } };
    },
  };
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
