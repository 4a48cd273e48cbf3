/**
 * Composes the service (contract sections 3-5): HTTP intake, the durable queue, the worker, health and
 * metrics, subscription registration or polling, and — with no FHIR_BASE_URL — the embedded sandbox FHIR
 * server that notifies the adapter like Medplum does. Every part is passed its I/O; nothing is a module singleton.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MedplumClient } from '@medplum/core';
import express from 'express';
import { mountClinicianViews, sandboxSmartSecurity } from '../app/mount-clinician-views.ts';
import { SUBSCRIPTION_TOPIC } from '../codes.ts';
import type { Config } from '../config.ts';
import { type Capabilities, probeFhirServer, readCapabilities } from '../fhir/capabilities.ts';
import { createFhirClient, type FetchFn, resolveFhirBaseUrl } from '../fhir/client-factory.ts';
import { countingFetch } from '../fhir/counting-fetch.ts';
import { isFinalRefusal } from '../fhir/http-error.ts';
import { isRetryable } from '../fhir/write-results.ts';
import type { EventNumberTracker } from '../intake/event-number-tracker.ts';
import type { JobIntent } from '../intake/jobs.ts';
import { createNotificationsRouter } from '../intake/notifications-router.ts';
import { type Logger, logger as rootLogger } from '../logging.ts';
import { createPoller, type Poller } from '../polling/poller.ts';
import { getSubscriptionTopic } from '../profiles/load-profiles.ts';
import { type Database, openDatabase } from '../queue/database.ts';
import { createJobQueue, type JobContext, type JobQueue, type JobQueueOptions } from '../queue/job-queue.ts';
import { createStateStore, type StateStore } from '../queue/state-store.ts';
import { registerSubscriptions } from '../registration/register-subscriptions.ts';
import { createSubscriptionWatcher } from '../registration/watch-subscriptions.ts';
import { createSandbox, type Sandbox } from '../sandbox/index.ts';
import { errorHandler, notFoundHandler } from '../server/error-handler.ts';
import { createHealthRouter } from '../server/health-routes.ts';
import { createMetrics, type Metrics } from '../server/metrics.ts';
import { ADAPTER_NAME, ADAPTER_VERSION } from '../version.ts';
import { assessPatientJob } from '../worker/assess-patient.ts';
import { waitForRetryAfter } from '../worker/honour-retry-after.ts';
import { createPatientThrottle } from '../worker/patient-throttle.ts';
import { resolvePatientOf } from '../worker/resolve-resource.ts';

export interface ServiceOptions {
  /** Interface to listen on (default all). */
  host?: string;
  logger?: Logger;
  queue?: JobQueueOptions;
  /** How often the Subscription watcher runs (default 5 minutes). */
  watchIntervalMs?: number;
  /** Without a checkpoint, how far back the first poll looks (default 7 days). */
  initialLookbackMs?: number;
  /** Database schema for the queue and state (default `irecist`; tests use their own). */
  schema?: string;
  /** The fetch the FHIR client uses (benchmarks count round trips, fault tests inject failures). */
  fetch?: FetchFn;
}

export interface RunningService {
  /** The adapter's own base URL on this machine (http://127.0.0.1:PORT). */
  url: string;
  port: number;
  config: Config;
  server: Server;
  db: Database;
  queue: JobQueue;
  state: StateStore;
  metrics: Metrics;
  client: MedplumClient;
  sandbox?: Sandbox;
  poller: Poller;
  /** Stops taking work, finishes or returns in-flight jobs, closes everything. Idempotent. */
  close(): Promise<void>;
}

const POLL_CHECKPOINT_KEY = 'poll-checkpoint';
const BACKLOG_NOT_READY = 10_000;
/** Each readiness check answers within this (a probe must not hang on a stalled server). */
const READINESS_TIMEOUT_MS = 2_000;

function stateEventTracker(state: StateStore): EventNumberTracker {
  return {
    get: async (id) => {
      const v = await state.get(`event-number:${id}`);
      return typeof v === 'number' ? v : undefined;
    },
    set: (id, n) => state.set(`event-number:${id}`, n),
  };
}

/**
 * Limits against slow and stalled clients (slow loris). Node's defaults are headers within 60 s, the whole request
 * within 300 s, idle keep-alive 5 s, all checked only every 30 s: one client could hold a connection for minutes.
 * Here headers must arrive within 10 s and the whole request within 30 s (notifications are a few KB; even the
 * largest accepted, 10 MiB, arrives in time at 3 Mbit/s), checked every second, so a cut comes at most a second late.
 * A client cut off gets Node's bare 408 and the connection closed.
 */
const HTTP_LIMITS = {
  headersTimeout: 10_000,
  requestTimeout: 30_000,
  keepAliveTimeout: 5_000,
  connectionsCheckingInterval: 1_000,
} as const;

function listen(app: express.Express, port: number, host?: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer(HTTP_LIMITS, app);
    let listening = false;
    // Kept for the server's life: an accept error (e.g. EMFILE under a flood of connections) must not crash it.
    server.on('error', (err: NodeJS.ErrnoException) => {
      if (!listening) reject(err);
      else rootLogger.warn({ code: err.code }, 'HTTP server error');
    });
    server.listen(port, host ?? '0.0.0.0', () => {
      listening = true;
      resolve(server);
    });
  });
}

export async function startService(config: Config, options: ServiceOptions = {}): Promise<RunningService> {
  rootLogger.level = config.logLevel;
  const log = (options.logger ?? rootLogger).child({ component: 'service' });
  const metrics = createMetrics();
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);

  const db = await openDatabase({
    databaseUrl: config.database.url,
    dataDir: config.database.dataDir,
    schema: options.schema,
  });
  // Idle workers look for due jobs every half second (pg-boss's minimum): a backlog drains at
  // concurrency / 0.5 s per process rather than per 2 s (bench/service.bench.ts measured the difference).
  const queue = await createJobQueue(db, { pollingIntervalSeconds: 0.5, ...options.queue });
  const state = createStateStore(db);

  // Listen first: the sandbox and the Subscriptions need the real port (PORT=0 in tests).
  const server = await listen(app, config.port, options.host);
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;

  let sandbox: Sandbox | undefined;
  if (config.sandbox) {
    sandbox = createSandbox({
      baseUrl: `${url}/fhir/R4`,
      logger: log,
      software: { name: `${ADAPTER_NAME} sandbox`, version: ADAPTER_VERSION },
      security: sandboxSmartSecurity(url),
    });
  }
  const client = createFhirClient(config, {
    ...(sandbox ? { baseUrl: sandbox.baseUrl } : {}),
    fetch: countingFetch(options.fetch ?? globalThis.fetch, metrics, resolveFhirBaseUrl(config, sandbox?.baseUrl)),
  });
  const capabilities = (): Promise<Capabilities> => readCapabilities(client);

  const throttle = createPatientThrottle(config.assessThrottleMs);
  /** Queues jobs; an assessment of a patient assessed moments ago waits out the throttle window (patient-throttle.ts). */
  const enqueue = async (jobs: readonly JobIntent[]): Promise<void> => {
    const byDelay = new Map<number, JobIntent[]>();
    for (const job of jobs) {
      const delay = job.kind === 'assess-patient' ? throttle.delayFor(job.patientId) : 0;
      byDelay.set(delay, [...(byDelay.get(delay) ?? []), job]);
    }
    for (const [delay, group] of byDelay) await queue.enqueue(group, delay > 0 ? { startAfterMs: delay } : {});
  };

  const poller = createPoller({
    client,
    store: state,
    enqueue: (jobs) => enqueue(jobs),
    intervalMs: Math.max(1, config.pollIntervalSeconds) * 1000,
    checkpointKey: POLL_CHECKPOINT_KEY,
    initialLookbackMs: options.initialLookbackMs ?? 7 * 86_400_000,
  });

  app.use(
    createNotificationsRouter({
      secret: config.webhook.secret,
      tracker: stateEventTracker(state),
      enqueue,
      onOutcome: (shape, result) => metrics.notifications.inc({ shape, outcome: result }),
    }),
  );
  // CDS Hooks, the SMART app and the sandbox's SMART endpoints (which must come before the sandbox FHIR router).
  await mountClinicianViews(app, { config, db, metrics, client, capabilities, url, sandbox, logger: log });
  if (sandbox) app.use('/fhir/R4', sandbox.router);
  app.use(
    createHealthRouter(
      metrics,
      [
        { name: 'database', check: async () => ({ ok: await db.ping(READINESS_TIMEOUT_MS) }) },
        {
          name: 'fhir-server',
          check: async () => ({ ok: await probeFhirServer(client, READINESS_TIMEOUT_MS) }),
        },
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
      ],
      async () => {
        const s = await queue.stats();
        metrics.queueDepth.set({ state: 'queued' }, s.queued);
        metrics.queueDepth.set({ state: 'active' }, s.active);
        metrics.queueDepth.set({ state: 'dead-lettered' }, s.deadLettered);
      },
    ),
  );
  app.use(notFoundHandler);
  app.use(errorHandler);

  const concurrency = config.queueConcurrency;
  const counted = async (kind: string, context: JobContext, work: () => Promise<void>) => {
    try {
      await work();
      metrics.jobs.inc({ kind, outcome: 'done' });
    } catch (err) {
      const retry = isRetryable(err);
      metrics.jobs.inc({ kind, outcome: retry ? 'retry' : 'failed' });
      if (retry) await waitForRetryAfter(err, context);
      throw err;
    }
  };
  const assessDeps = { client, capabilities, metrics, logger: log };
  await queue.work(
    'assess-patient',
    (p, ctx) => {
      throttle.started(p.patientId);
      return counted('assess-patient', ctx, async () => void (await assessPatientJob(assessDeps, p.patientId)));
    },
    { concurrency, isFinal: isFinalRefusal },
  );
  await queue.work(
    'resolve-resource',
    (p, ctx) =>
      counted('resolve-resource', ctx, async () => {
        const patientId = await resolvePatientOf(client, p.resourceType, p.id, p.deleted);
        if (patientId) await enqueue([{ kind: 'assess-patient', patientId }]);
        else log.info({ resourceType: p.resourceType, id: p.id }, 'no patient found for resource');
      }),
    { isFinal: isFinalRefusal },
  );
  await queue.work('catch-up', (p, ctx) =>
    counted('catch-up', ctx, async () => {
      const result = await poller.runOnce();
      log.info({ reason: p.reason, patients: result.patientIds.length }, 'catch-up done');
    }),
  );

  // Subscriptions: the sandbox gets Medplum-style ones pointing at this process; a real server only on request.
  let watcher: ReturnType<typeof createSubscriptionWatcher> | undefined;
  const caps = await capabilities().catch(() => undefined);
  if (sandbox && caps) {
    await registerSubscriptions(client, caps, { publicUrl: url, secret: config.webhook.secret, flavour: 'medplum' });
  } else if (config.subscribe && caps) {
    const registerOptions = {
      publicUrl: config.publicUrl,
      secret: config.webhook.secret,
      topic: getSubscriptionTopic(SUBSCRIPTION_TOPIC),
    };
    const result = await registerSubscriptions(client, caps, registerOptions);
    log.info(
      { created: result.created.length, updated: result.updated.length, unchanged: result.unchanged.length },
      'subscriptions registered',
    );
    watcher = createSubscriptionWatcher({
      client,
      caps,
      intervalMs: options.watchIntervalMs ?? 300_000,
      options: { ...registerOptions, onCatchUp: (req) => enqueue([req]) },
    });
    watcher.start();
  }
  const pollEvery = config.pollIntervalSeconds > 0 || (!sandbox && caps !== undefined && !caps.restHook);
  if (pollEvery && !sandbox) poller.start();
  log.info(
    { port, sandbox: Boolean(sandbox), polling: pollEvery && !sandbox, database: db.kind },
    'irecist-adapter started',
  );

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      await watcher?.stop();
      await poller.stop();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections?.();
      await queue.stop({ graceful: true, timeoutMs: 10_000 });
      await sandbox?.close();
      await db.close();
      log.info('irecist-adapter stopped');
    })();
    return closing;
  };
  return { url, port, config, server, db, queue, state, metrics, client, sandbox, poller, close };
}
