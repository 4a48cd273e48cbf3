/**
 * Composes the service (contract sections 3-5): HTTP intake, the durable queue, the worker, health and
 * metrics, subscription registration or polling, and — with no FHIR_BASE_URL — the embedded sandbox FHIR
 * server that notifies the adapter like Medplum does. Every part is passed its I/O; nothing is a module singleton.
 * Each part is one small function here or in this folder; a new part is one more call in `startService`.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MedplumClient } from '@medplum/core';
import type express from 'express';
import { createAdminRouter } from '../admin/admin-router.ts';
import { createChartThreads } from '../charts/chart-threads.ts';
import type { Config } from '../config.ts';
import { type Capabilities, readCapabilities } from '../fhir/capabilities.ts';
import { createFhirClient, type FetchFn, resolveFhirBaseUrl } from '../fhir/client-factory.ts';
import { countingFetch } from '../fhir/counting-fetch.ts';
import { planWrites } from '../fhir/write-plan.ts';
import { ledgerIn } from '../fhir/written-resources.ts';
import { createNotificationsRouter } from '../intake/notifications-router.ts';
import { type Logger, logger as rootLogger } from '../logging.ts';
import type { ChangeDetection, DetectionTask } from '../polling/change-detection.ts';
import { type Database, openDatabase } from '../queue/database.ts';
import { createJobQueue, type JobQueue, type JobQueueOptions } from '../queue/job-queue.ts';
import { createStateStore, type StateStore } from '../queue/state-store.ts';
import { createSandbox, type Sandbox } from '../sandbox/index.ts';
import { createLoadRouter } from '../sandbox/load-router.ts';
import { errorHandler, notFoundHandler } from '../server/error-handler.ts';
import { createHealthRouter, type ReadinessCheck } from '../server/health-routes.ts';
import { createMetrics, type Metrics } from '../server/metrics.ts';
import { ADAPTER_NAME, ADAPTER_VERSION } from '../version.ts';
import { createPatientThrottle } from '../worker/patient-throttle.ts';
import { rememberingEnqueue, setUpChangeDetection } from './change-detection-setup.ts';
import { type Enqueue, stateEventTracker, throttledEnqueue } from './enqueue.ts';
import { boundAddress, closeServer, createApp, listen } from './http-server.ts';
import { mountClinicianViews, sandboxSmartSecurity } from './mount-clinician-views.ts';
import { queueDepthScraper, readinessChecks, writePlanCheck } from './readiness.ts';
import { setUpSubscriptions } from './subscriptions.ts';
import { startWorkers } from './workers.ts';

export interface ServiceOptions {
  /** Interface to listen on (default: HOST, i.e. 127.0.0.1 unless configured). */
  host?: string;
  logger?: Logger;
  queue?: JobQueueOptions;
  /** How often the Subscription watcher runs (default 5 minutes). */
  watchIntervalMs?: number;
  /** Database schema for the queue and state (default `irecist`; tests use their own). */
  schema?: string;
  /** The fetch the FHIR client uses (benchmarks count round trips, fault tests inject failures). */
  fetch?: FetchFn;
}

export interface RunningService {
  /** The adapter's own base URL on this machine (http://127.0.0.1:PORT, or the HOST it is bound to). */
  url: string;
  /** Where it listens, as the start-up line says it: the bound address (`http://0.0.0.0:8080 (every interface)`). */
  listening: string;
  port: number;
  config: Config;
  server: Server;
  db: Database;
  queue: JobQueue;
  state: StateStore;
  metrics: Metrics;
  client: MedplumClient;
  sandbox?: Sandbox;
  /** The change detection in force (its task is the poller catch-up jobs run). */
  detection: ChangeDetection;
  poller: DetectionTask;
  /** Stops taking work, finishes or returns in-flight jobs, closes everything. Idempotent. */
  close(): Promise<void>;
}

/** The service's database, its job queue and its state store. */
async function openStorage(config: Config, options: ServiceOptions) {
  const db = await openDatabase({
    databaseUrl: config.database.url,
    dataDir: config.database.dataDir,
    schema: options.schema,
  });
  // A busy worker takes its next job as soon as it finishes one (src/queue/worker-pool.ts); an idle one is woken by
  // the NOTIFY of a new job, and looks for jobs that became due (retries, throttled assessments) every half second.
  const queue = await createJobQueue(db, { pollingIntervalSeconds: 0.5, ...options.queue });
  return { db, queue, state: createStateStore(db) };
}

/** The FHIR client: the sandbox on this process, or FHIR_BASE_URL; every request counted in /metrics. */
function fhirClientFor(config: Config, options: ServiceOptions, metrics: Metrics, sandbox?: Sandbox): MedplumClient {
  const fetch = countingFetch(
    options.fetch ?? globalThis.fetch,
    metrics.fhirRequests,
    resolveFhirBaseUrl(config, sandbox?.baseUrl),
  );
  return createFhirClient(config, { ...(sandbox ? { baseUrl: sandbox.baseUrl } : {}), fetch });
}

interface RouteDeps {
  config: Config;
  state: StateStore;
  enqueue: Enqueue;
  metrics: Metrics;
  db: Database;
  client: MedplumClient;
  capabilities: () => Promise<Capabilities>;
  queue: JobQueue;
  url: string;
  logger: Logger;
  sandbox?: Sandbox;
  /** What /readyz checks; parts set up later (the Subscriptions) add theirs. */
  checks: ReadinessCheck[];
}

/**
 * Mounts intake (first: it reads the raw body), the clinician views (CDS Hooks, the SMART app and the sandbox's SMART
 * endpoints, which must come before the sandbox FHIR router), the admin API (only with ADMIN_TOKEN), the sandbox,
 * health and metrics.
 */
async function mountRoutes(app: express.Express, deps: RouteDeps): Promise<void> {
  const { metrics } = deps;
  app.use(
    createNotificationsRouter({
      secret: deps.config.webhook.secret,
      tracker: stateEventTracker(deps.state),
      enqueue: deps.enqueue,
      maxPatients: deps.config.notificationMaxPatients,
      onOutcome: (shape, result) => metrics.notifications.inc({ shape, outcome: result }),
    }),
  );
  await mountClinicianViews(app, deps);
  const admin = deps.config.exposure.admin;
  if (admin.token)
    app.use('/admin', createAdminRouter({ token: admin.token, remote: admin.remote, queue: deps.queue }));
  if (deps.sandbox) {
    app.use('/fhir/R4', deps.sandbox.router);
    app.use(createLoadRouter({ load: deps.sandbox.load, baseUrl: deps.sandbox.baseUrl, logger: deps.logger }));
  }
  app.use(createHealthRouter(metrics, deps.checks, queueDepthScraper(deps.queue, metrics)));
}

/** Ends the HTTP error edge: 404 for any other path, then the one error handler. Mount last. */
function mountErrorEdge(app: express.Express): void {
  app.use(notFoundHandler);
  app.use(errorHandler);
}

export async function startService(config: Config, options: ServiceOptions = {}): Promise<RunningService> {
  rootLogger.level = config.logLevel;
  const log = (options.logger ?? rootLogger).child({ component: 'service' });
  const metrics = createMetrics();
  const app = createApp();
  const { db, queue, state } = await openStorage(config, options);

  // Listen first: the sandbox and the Subscriptions need the real port (PORT=0 in tests).
  const server = await listen(app, config.port, options.host ?? config.exposure.host);
  const { port, url, listening } = boundAddress(server.address() as AddressInfo);

  const sandbox = config.sandbox
    ? createSandbox({
        baseUrl: `${url}/fhir/R4`,
        logger: log,
        software: { name: `${ADAPTER_NAME} sandbox`, version: ADAPTER_VERSION },
        security: sandboxSmartSecurity(url),
        profile: config.detection.sandboxProfile,
        // Subscriptions deliver only to this adapter (as bound, and as PUBLIC_URL says) and the configured list.
        subscriptionEndpoints: [
          `${url}/notifications`,
          `${config.publicUrl.replace(/\/+$/, '')}/notifications`,
          ...config.exposure.sandboxSubscriptionEndpoints,
        ],
      })
    : undefined;
  const client = fhirClientFor(config, options, metrics, sandbox);
  const capabilities = (): Promise<Capabilities> => readCapabilities(client);
  const throttle = createPatientThrottle(config.assessThrottleMs);
  const remembering = rememberingEnqueue(throttledEnqueue(queue, throttle));
  const enqueue = remembering.enqueue;

  const checks = readinessChecks(db, client, queue);
  await mountRoutes(app, {
    checks,
    config,
    state,
    enqueue,
    metrics,
    db,
    client,
    capabilities,
    queue,
    url,
    logger: log,
    sandbox,
  });
  mountErrorEdge(app);
  const fetch = options.fetch ? { fetch: options.fetch } : {};
  const detection = await setUpChangeDetection({
    config,
    client,
    state,
    enqueue,
    sandboxBaseUrl: sandbox?.baseUrl,
    ...fetch,
  });
  remembering.use(detection);
  checks.push(detection.readiness);
  const poller = detection.task;
  const chartThreads = config.chartThread ? createChartThreads() : undefined;
  await startWorkers(queue, {
    client,
    capabilities,
    metrics,
    logger: log,
    throttle,
    enqueue,
    poller,
    ledger: ledgerIn(state),
    ...(chartThreads ? { chartThreads } : {}),
    concurrency: config.queueConcurrency,
    concurrencyRange: config.queueConcurrencyRange,
  });

  const caps = await capabilities().catch(() => undefined);
  checks.push(writePlanCheck(capabilities));
  if (caps) log.info({ plan: planWrites(caps).lines }, 'write plan');
  const { watcher, readiness } = await setUpSubscriptions({
    config,
    client,
    caps,
    sandbox: Boolean(sandbox),
    url,
    enqueue,
    logger: log,
    watchIntervalMs: options.watchIntervalMs ?? 300_000,
  });
  if (readiness) checks.push(readiness);
  await detection.start();
  const changeDetection = detection.describe();
  log.info({ port, sandbox: Boolean(sandbox), changeDetection, database: db.kind }, 'irecist-adapter started');

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      await watcher?.stop();
      await detection.stop();
      await closeServer(server);
      // Within the CLI's 9 s shutdown deadline: running jobs get 5 s, then go back to the queue.
      await queue.stop({ graceful: true, timeoutMs: 5_000 });
      await chartThreads?.close();
      await sandbox?.close();
      await db.close();
      log.info('irecist-adapter stopped');
    })();
    return closing;
  };
  return { url, listening, port, config, server, db, queue, state, metrics, client, sandbox, detection, poller, close };
}
