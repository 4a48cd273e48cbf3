/**
 * Where the clinician looks (issue #10), mounted on the service in one call: the CDS Hooks service, the SMART app at
 * /app and, in sandbox mode only, the sandbox's SMART launch endpoints (in front of the sandbox FHIR router).
 * Call it before the sandbox FHIR router is mounted, so the SMART configuration and the token check come first.
 */
import type { MedplumClient } from '@medplum/core';
import type { CapabilityStatementRestSecurity } from '@medplum/fhirtypes';
import type { Express } from 'express';
import { APP_LAUNCH_PATH, APP_PATH, createAppRouter } from '../app/app-router.ts';
import { createCdsHooksRouter } from '../cds-hooks/cds-hooks-router.ts';
import { createCdsMetrics } from '../cds-hooks/cds-metrics.ts';
import { openCdsStore } from '../cds-hooks/cds-store.ts';
import { createClientJwtVerifier } from '../cds-hooks/client-jwt.ts';
import type { Config } from '../config.ts';
import type { Capabilities } from '../fhir/capabilities.ts';
import { resolveFhirBaseUrl } from '../fhir/client-factory.ts';
import type { Logger } from '../logging.ts';
import type { Database } from '../queue/database.ts';
import type { Sandbox } from '../sandbox/index.ts';
import { createSmartSandboxRouter } from '../sandbox/smart-authorization.ts';
import { smartEndpoints, smartSecurity } from '../sandbox/smart-configuration.ts';
import type { Metrics } from '../server/metrics.ts';

export interface ClinicianViewsDeps {
  config: Config;
  db: Database;
  metrics: Metrics;
  /** The adapter's FHIR client: CDS Hooks uses it only when a request names the configured server. */
  client: MedplumClient;
  capabilities: () => Promise<Capabilities>;
  /** The service's own URL on this machine (http://127.0.0.1:PORT). */
  url: string;
  sandbox?: Sandbox;
  logger: Logger;
}

/** Where the sandbox FHIR router is mounted. */
const SANDBOX_FHIR_PATH = '/fhir/R4';

/**
 * The sandbox CapabilityStatement's SMART security (`createSandbox({ security })`), pointing at the endpoints
 * mounted here.
 * @param url - The service's own URL.
 */
export function sandboxSmartSecurity(url: string): CapabilityStatementRestSecurity {
  return smartSecurity(smartEndpoints(url));
}

/**
 * Mounts the CDS Hooks service, the SMART app and (sandbox mode) the SMART launch endpoints.
 * @param app - The service's express app.
 * @param deps - Configuration, database, metrics, the FHIR client, the sandbox when there is one.
 */
export async function mountClinicianViews(app: Express, deps: ClinicianViewsDeps): Promise<void> {
  const { config, logger } = deps;
  const store = await openCdsStore(deps.db);
  app.use(
    createCdsHooksRouter({
      store,
      verifier: createClientJwtVerifier({ clients: config.cdsClients, claimJwtId: store.claimJwtId }),
      access: {
        client: deps.client,
        fhirBaseUrl: resolveFhirBaseUrl(config, deps.sandbox?.baseUrl),
        capabilities: deps.capabilities,
        timeoutMs: config.fhir.timeoutMs,
      },
      baseUrls: [...new Set([config.publicUrl, deps.url])],
      appLaunchUrl: `${config.publicUrl}${APP_LAUNCH_PATH}`,
      metrics: createCdsMetrics(deps.metrics.registry),
      logger,
    }),
  );
  app.use(APP_PATH, createAppRouter({ smartApp: config.smartApp, logger }));
  if (deps.sandbox) {
    app.use(
      createSmartSandboxRouter({
        repo: deps.sandbox.repo,
        fhirPath: SANDBOX_FHIR_PATH,
        origin: deps.url,
        appLaunchPath: APP_LAUNCH_PATH,
        logger,
      }),
    );
  }
}
