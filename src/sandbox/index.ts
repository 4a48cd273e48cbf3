/**
 * The embedded sandbox FHIR R4 server (contract §3-4): with no FHIR_BASE_URL, `serve` mounts `router` at
 * /fhir/R4. It stores resources in memory, answers the FHIR REST API (read, vread, search, create, update,
 * conditional create/update/delete, patch, delete, history, batch, transaction, /metadata, Bulk Data `$export`) and notifies
 * rest-hook Subscriptions the way Medplum does, so the adapter can subscribe to it like to a real server.
 *
 *   const sandbox = createSandbox({ baseUrl: 'http://127.0.0.1:8080/fhir/R4' });
 *   app.use('/fhir/R4', sandbox.router);
 *   ...
 *   await sandbox.waitForIdle(); // all notifications delivered or given up
 *   await sandbox.close();
 */
import { FhirRouter } from '@medplum/fhir-router';
import type { CapabilityStatementRestSecurity } from '@medplum/fhirtypes';
import type { Router } from 'express';
import type { SandboxProfileName } from '../config/change-detection.ts';
import type { Logger } from '../logging.ts';
import { logger as rootLogger } from '../logging.ts';
import { type BulkExportTuning, createBulkExport } from './bulk-export.ts';
import { buildCapabilityStatement } from './capability-statement.ts';
import { ensureR4Definitions } from './definitions.ts';
import { activateRequestedSubscriptions } from './hapi-subscription-activation.ts';
import { SandboxRepository } from './memory-store.ts';
import { currentRequestContext } from './request-context.ts';
import { createSandboxLoader, type SandboxLoad } from './sandbox-load.ts';
import { createSandboxRouter } from './sandbox-router.ts';
import { SerialQueue } from './serial-queue.ts';
import { profileCapabilityStatement } from './server-profiles/profile-capability-statement.ts';
import type { ServerProfile } from './server-profiles/profile-model.ts';
import { profileRestrictions } from './server-profiles/restrictions.ts';
import { serverProfile } from './server-profiles/server-profiles.ts';
import { subscriptionWriteGuard } from './subscription-exposure.ts';
import type { NotifierStats, NotifierTuning } from './subscription-notifier.ts';
import { SubscriptionNotifier } from './subscription-notifier.ts';

export type { BulkExportTuning } from './bulk-export.ts';
export { medplumSignature, verifyMedplumSignature } from './medplum-signature.ts';
export type { WriteEvent, WriteInteraction } from './memory-store.ts';
export { SandboxRepository } from './memory-store.ts';
export type { LoadResult, SandboxLoad } from './sandbox-load.ts';
export type { NotifierStats, NotifierTuning } from './subscription-notifier.ts';

export interface SandboxOptions {
  /** Public URL of the sandbox's FHIR base, i.e. where `router` is mounted (used in fullUrl, Location, links). */
  readonly baseUrl: string;
  readonly logger?: Logger;
  /** Validate written resources against the base R4 StructureDefinitions (default true). */
  readonly validate?: boolean;
  /** Largest accepted request body (default '50mb'). */
  readonly bodyLimit?: string | number;
  /** Notification retry and concurrency tuning (tests shorten the retry delay). */
  readonly notifications?: NotifierTuning;
  /** Reported in the CapabilityStatement's `software`. */
  readonly software?: { readonly name: string; readonly version: string };
  /** SMART-on-FHIR security for the CapabilityStatement (the service's sandbox SMART endpoints). */
  readonly security?: CapabilityStatementRestSecurity;
  /** Bulk Data `$export` tuning (Retry-After, file lifetime and size; tests hold jobs in progress). */
  readonly bulkExport?: BulkExportTuning;
  /** The server the sandbox imitates (SANDBOX_PROFILE; default medplum, the sandbox as it always was). */
  readonly profile?: SandboxProfileName;
  /**
   * Where Subscriptions may deliver (the service passes its own /notifications and SANDBOX_SUBSCRIPTION_ENDPOINTS);
   * other endpoints are refused on write. Undefined: anywhere (a sandbox a test or library user runs on its own).
   */
  readonly subscriptionEndpoints?: readonly string[];
}

export interface Sandbox {
  /** Express router serving the FHIR API; mount it at the path of `baseUrl` (normally /fhir/R4). */
  readonly router: Router;
  /** The store behind the router; direct writes notify Subscriptions too (immediately). */
  readonly repo: SandboxRepository;
  readonly baseUrl: string;
  /** The server profile in force. */
  readonly profile: ServerProfile;
  /** Loads a transaction or collection Bundle whatever the profile restricts (POST /sandbox/load). */
  readonly load: SandboxLoad;
  /** Notification counters (delivered, failed, attempts). */
  readonly notificationStats: NotifierStats;
  /** Resolves when no notification is pending, waiting for a retry, or in flight. */
  waitForIdle(): Promise<void>;
  /** Bulk Data export jobs held (being written, or with files on disk). */
  bulkExportJobs(): number;
  /** Stops notifications (aborting those in flight and pending retries) and removes export files; the router keeps answering. */
  close(): Promise<void>;
}

/** Creates the sandbox FHIR server. Loads the R4 definitions into @medplum/core on first use (~0.4 s). */
export function createSandbox(options: SandboxOptions): Sandbox {
  ensureR4Definitions();
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const logger = (options.logger ?? rootLogger).child({ component: 'sandbox' });
  const profile = serverProfile(options.profile);
  const repo = new SandboxRepository({
    baseUrl,
    validate: options.validate,
    guardWrite: subscriptionWriteGuard(options.subscriptionEndpoints),
  });
  const notifier = new SubscriptionNotifier({
    store: repo,
    logger,
    style: profile.notifications === 'hapi' ? 'hapi' : 'medplum',
    ...options.notifications,
  });
  const queue = new SerialQueue();
  repo.onCommit((events) => {
    const context = currentRequestContext();
    context?.events.push(...events);
    if (profile.notifications !== 'none') notifier.enqueue(events, context?.answered);
    if (profile.notifications === 'hapi') activateRequestedSubscriptions(events, repo, queue, logger);
  });
  const bulkExport = createBulkExport({ repo, baseUrl, logger, tuning: options.bulkExport });
  const full = buildCapabilityStatement(
    baseUrl,
    options.software ?? { name: 'irecist-adapter sandbox', version: '0.1.0' },
    options.security,
  );
  const fhirRouter = new FhirRouter();
  const router = createSandboxRouter({
    repo,
    fhirRouter,
    queue,
    capabilityStatement: profileCapabilityStatement(full, profile),
    logger,
    bodyLimit: options.bodyLimit,
    bulkExport,
    restrict: profileRestrictions(profile, (type, id) => repo.currentVersionId(type, id)),
  });
  return {
    router,
    repo,
    baseUrl,
    profile,
    load: createSandboxLoader({ repo, fhirRouter, queue, profile }),
    notificationStats: notifier.stats,
    waitForIdle: () => notifier.waitForIdle(),
    bulkExportJobs: () => bulkExport.jobCount(),
    close: async () => {
      await Promise.all([notifier.close(), bulkExport.close()]);
    },
  };
}
