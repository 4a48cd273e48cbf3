/**
 * `irecist-adapter serve` (= npm start): runs the service until SIGINT/SIGTERM, then shuts down gracefully: stops
 * taking notifications, lets running jobs finish (or returns them to the queue), closes the database, exits 0.
 * A second signal, or a shutdown that outlasts SHUTDOWN_DEADLINE_MS, exits at once (1): a container runtime kills
 * at 10 s, and jobs still running then are run again by the queue (another process, or this one's next start).
 */
import { ConfigError, loadConfig } from '../config.ts';
import { OutcomeError } from '../fhir-model/outcomes.ts';
import { describeError, logger } from '../logging.ts';
import { startService } from '../service/start-service.ts';
import { type CliIo, type Command, type CommandSpec, runCommand } from './command-line.ts';

/** The whole graceful shutdown must end before a container runtime's SIGKILL (10 s after SIGTERM). */
export const SHUTDOWN_DEADLINE_MS = 9_000;

const spec = {
  name: 'serve',
  summary: 'run the service (npm start); without FHIR_BASE_URL also the sandbox FHIR server',
  description:
    'Listens on HOST:PORT (127.0.0.1:8080 unless set) until SIGINT or SIGTERM, then shuts down gracefully.\n' +
    'Configuration comes from the environment (README, "Configuration").',
  environment: [
    'FHIR_BASE_URL   the FHIR server (unset: the embedded sandbox at /fhir/R4)',
    'WEBHOOK_SECRET  notification credential (required with FHIR_BASE_URL)',
    'HOST, PORT      where to listen (default 127.0.0.1:8080)',
    'DATABASE_URL    PostgreSQL for the queue (unset: PGlite in DATA_DIR, default ./.data)',
    'SUBSCRIBE       register Subscriptions on FHIR_BASE_URL at start-up (default false)',
    'ADMIN_TOKEN     turns on the operator API at /admin (replay talks to it)',
  ],
  examples: ['npm start', 'FHIR_BASE_URL=https://fhir.example.org/R4 WEBHOOK_SECRET=... npx irecist-adapter serve'],
} as const satisfies CommandSpec;

/** What stopped the start, in words that carry no configuration values. */
function startFailure(err: unknown): string {
  const text = err instanceof OutcomeError ? err.outcome.issue?.[0]?.details?.text : undefined;
  if (text) return text;
  const e = err as { code?: unknown };
  if (e.code === 'EADDRINUSE') return 'the port is already in use (PORT)';
  if (e.code === 'EACCES') return 'no permission to listen on the port (PORT)';
  if (e.code === 'EADDRNOTAVAIL') return 'HOST is not an address of this machine';
  return 'unexpected error (see the log line "start failed")';
}

/** Resolves with the first SIGINT/SIGTERM; a second one, or the deadline after the first, exits at once. */
function firstSignal(): Promise<string> {
  return new Promise((resolve) => {
    let received = false;
    const onSignal = (signal: string): void => {
      if (received) {
        logger.warn({ signal }, 'second signal: exiting now');
        process.exit(1);
      }
      received = true;
      logger.info({ signal }, 'shutting down');
      setTimeout(() => {
        logger.error({ deadlineMs: SHUTDOWN_DEADLINE_MS }, 'shutdown took too long: exiting now');
        process.exit(1);
      }, SHUTDOWN_DEADLINE_MS).unref();
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

async function serve(io: CliIo): Promise<number> {
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
    `irecist-adapter listening on ${service.listening}${service.sandbox ? ` with the sandbox FHIR server at ${service.sandbox.baseUrl}` : ''}\n` +
      (config.webhook.generated ? 'WEBHOOK_SECRET was generated for this run (sandbox mode).\n' : ''),
  );
  await firstSignal();
  await service.close();
  return 0;
}

/** `irecist-adapter serve`. */
export const serveCommand: Command = { spec, run: (args, io) => runCommand(spec, args, io, () => serve(io)) };
