/** `irecist-adapter serve` (= npm start): runs the service until SIGINT/SIGTERM, then shuts down gracefully. */
import { ConfigError, loadConfig } from '../config.ts';
import { logger } from '../logging.ts';
import { startService } from '../service/start-service.ts';
import type { CliIo } from './assess.ts';

export async function runServe(io: CliIo): Promise<number> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      io.stderr(`${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const service = await startService(config);
  io.stderr(
    `irecist-adapter listening on ${service.url}${service.sandbox ? ` with the sandbox FHIR server at ${service.sandbox.baseUrl}` : ''}\n` +
      (config.webhook.generated ? 'WEBHOOK_SECRET was generated for this run (sandbox mode).\n' : ''),
  );
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      logger.info({ signal }, 'shutting down');
      resolve();
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  await service.close();
  return 0;
}
