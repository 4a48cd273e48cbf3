/** What the service logs of its configuration at start-up. */
import type { Config } from '../config.ts';

/**
 * A loggable view of the configuration: no secrets, no credentials in URLs.
 * @param config - The configuration.
 * @returns Plain values safe to log.
 */
export function describeConfig(config: Config): Record<string, unknown> {
  const auth = config.fhir.auth;
  return {
    port: config.port,
    publicUrl: config.publicUrl,
    logLevel: config.logLevel,
    sandbox: config.sandbox,
    fhirBaseUrl: config.fhir.baseUrl,
    fhirTimeoutMs: config.fhir.timeoutMs,
    fhirAuth: auth.mode,
    fhirClientId: 'clientId' in auth ? auth.clientId : undefined,
    fhirTokenUrl: 'tokenUrl' in auth ? (auth.tokenUrl ?? '(discovered)') : undefined,
    fhirScope: 'scope' in auth ? auth.scope : undefined,
    fhirJwtAlg: auth.mode === 'smart-backend' ? auth.alg : undefined,
    database: config.database.url ? 'postgres' : 'pglite',
    dataDir: config.database.url ? undefined : config.database.dataDir,
    webhookSecret: config.webhook.generated ? 'generated' : 'set',
    subscribe: config.subscribe,
    notificationMaxPatients: config.notificationMaxPatients,
    host: config.exposure.host,
    adminApi: config.exposure.admin.token ? (config.exposure.admin.remote ? 'on, any peer' : 'on, loopback') : 'off',
    pollIntervalSeconds: config.pollIntervalSeconds,
    sandboxProfile: config.sandbox ? config.detection.sandboxProfile : undefined,
    changeDetection: config.detection.mode ?? 'auto',
    bulkGroupId: config.detection.bulkGroupId,
    queueConcurrency: config.queueConcurrency,
    queueConcurrencyRange: config.queueConcurrencyRange,
    chartThread: config.chartThread,
    cdsClients: config.cdsClients.map((c) => c.iss),
    smartAppClientId: config.smartApp.clientId,
  };
}
