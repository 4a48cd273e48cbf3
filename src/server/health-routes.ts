/** /healthz (liveness), /readyz (database, FHIR server, backlog) and /metrics (Prometheus). */
import express from 'express';
import type { Metrics } from './metrics.ts';

export interface ReadinessCheck {
  name: string;
  check(): Promise<{ ok: boolean; detail?: Record<string, unknown> }>;
}

export function createHealthRouter(
  metrics: Metrics,
  checks: readonly ReadinessCheck[],
  beforeScrape?: () => Promise<void>,
): express.Router {
  const router = express.Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const results = await Promise.all(
      checks.map(async (c) => {
        try {
          return { name: c.name, ...(await c.check()) };
        } catch {
          return { name: c.name, ok: false };
        }
      }),
    );
    const ready = results.every((r) => r.ok);
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready', checks: results });
  });
  router.get('/metrics', async (_req, res) => {
    try {
      await beforeScrape?.();
    } catch {
      // A failed queue read must not hide the other metrics.
    }
    res.setHeader('Content-Type', metrics.registry.contentType);
    res.send(await metrics.registry.metrics());
  });
  return router;
}
