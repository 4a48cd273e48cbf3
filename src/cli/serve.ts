/** `irecist-adapter serve` (= npm start): runs the service until SIGINT/SIGTERM, then shuts down gracefully. */
import { ConfigError, loadConfig } from '../config.ts';
import { OutcomeError } from '../fhir-model/outcomes.ts';
import { describeError, logger } from '../logging.ts';
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
  let service: Awaited<ReturnType<typeof startService>>;
  try {
    service = await startService(config);
  } catch (err) {
    // One line an operator can act on (the database or the port), never a stack trace or a connection string.
    logger.error({ err: describeError(err) }, 'start failed');
    io.stderr(`irecist-adapter could not start: ${startFailure(err)}\n`);
    return 1;
  }
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

/** What stopped the start, in words that carry no configuration values. */
function startFailure(err: unknown): string {
  const text = err instanceof OutcomeError ? err.outcome.issue?.[0]?.details?.text : undefined;
  if (text) return text;
  const e = err as { code?: unknown };
  if (e.code === 'EADDRINUSE') return 'the port is already in use (PORT)';
  if (e.code === 'EACCES') return 'no permission to listen on the port (PORT)';
  return 'unexpected error (see the log line "start failed")';
}
