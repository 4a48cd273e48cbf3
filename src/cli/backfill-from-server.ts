/**
 * `irecist-adapter backfill --from-server`: wires the backfill (src/backfill) to this process: the configuration
 * (FHIR_BASE_URL and its auth, DATABASE_URL or DATA_DIR), the Bulk Data client, the worker's own assess-and-write
 * (worker/assess-patient.ts, so the server's write plan applies as in the service) or, with `--dry-run`, the pipeline
 * and NDJSON files; SIGINT/SIGTERM stop it between patients (run again to resume), and a summary at the end: one line
 * for a person on stderr, JSON on stdout.
 */

import { randomBytes } from 'node:crypto';
import type { Resource } from '@medplum/fhirtypes';
import { openNdjsonOutput } from '../backfill/ndjson-output.ts';
import { progressReport } from '../backfill/progress-report.ts';
import type { AssessOne, BackfillRequest, BackfillSummary } from '../backfill/run-backfill.ts';
import { BackfillInterrupted, runBackfill } from '../backfill/run-backfill.ts';
import { createBulkClient } from '../bulk/bulk-client.ts';
import { type ChartThreads, createChartThreads } from '../charts/chart-threads.ts';
import { type Config, ConfigError, loadConfig } from '../config.ts';
import { readCapabilities } from '../fhir/capabilities.ts';
import { createFhirClient } from '../fhir/client-factory.ts';
import { isPatientNotFound, readPatientContext } from '../fhir/read-patient-context.ts';
import { planWrites } from '../fhir/write-plan.ts';
import { ledgerIn } from '../fhir/written-resources.ts';
import { logger } from '../logging.ts';
import { assessResources } from '../pipeline/assess-resources.ts';
import { openDatabase } from '../queue/database.ts';
import { createStateStore } from '../queue/state-store.ts';
import { createMetrics } from '../server/metrics.ts';
import { assessPatientJob } from '../worker/assess-patient.ts';
import { survivorOf } from '../worker/merged-patient.ts';
import type { CliIo } from './command-line.ts';
import { commandError, issueText } from './report-error.ts';

export interface FromServerOptions {
  readonly request: BackfillRequest;
  readonly dryRun: boolean;
  readonly output?: string;
  readonly restart: boolean;
  readonly concurrency: number;
}

/** Exit code of a backfill stopped by a signal (128 + SIGINT), as shells report it. */
const INTERRUPTED = 130;

/**
 * Runs a backfill from the configured server.
 * @param options - What the command line asked.
 * @param io - stdout (the JSON summary), stderr (progress, the summary line, errors).
 * @returns 0 every patient assessed; 1 some failed or an error; 2 configuration; 130 interrupted (resumable).
 */
export async function backfillFromServer(options: FromServerOptions, io: CliIo): Promise<number> {
  let config: Config;
  try {
    // A backfill receives no notifications: the webhook secret the service needs is not asked for.
    config = loadConfig({ WEBHOOK_SECRET: randomBytes(24).toString('hex'), ...process.env });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.stderr(`${err.message}\n`);
    return 2;
  }
  if (!config.fhir.baseUrl) {
    io.stderr('error: FHIR_BASE_URL is not set: it names the FHIR server to backfill from\n');
    return 2;
  }
  // Per-patient log lines would bury the progress bar; LOG_LEVEL still says otherwise when set.
  if (process.env.LOG_LEVEL === undefined) logger.level = 'warn';

  const controller = new AbortController();
  const stop = (): void => {
    if (!controller.signal.aborted) io.stderr('\nbackfill: stopping after the patients in progress\n');
    controller.abort();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const progress = progressReport({ tty: process.stderr.isTTY === true, write: io.stderr });
  let db: Awaited<ReturnType<typeof openDatabase>> | undefined;
  let chartThreads: ChartThreads | undefined;
  const output = options.dryRun && options.output ? await openNdjsonOutput(options.output) : undefined;
  try {
    db = await openDatabase({ databaseUrl: config.database.url, dataDir: config.database.dataDir });
    const client = createFhirClient(config);
    const capabilities = () => readCapabilities(client);
    let assess: AssessOne;
    if (output) {
      assess = async (patientId, context) => {
        let resources: Resource[];
        try {
          resources = context ?? (await readPatientContext(client, patientId, await capabilities()));
        } catch (err) {
          if (isPatientNotFound(err)) return 'gone';
          throw err;
        }
        // As the worker: a record merged into another is not assessed; only the outputs the server can hold.
        if (survivorOf(resources[0])) return 'done';
        const { outputs } = planWrites(await capabilities());
        await output.append(assessResources(resources, { outputs }).transaction.entry ?? []);
        return 'done';
      };
    } else {
      // The service's own ledger (same database): what a clinician deleted is not written again by a backfill either.
      const ledger = ledgerIn(createStateStore(db));
      chartThreads = config.chartThread ? createChartThreads() : undefined;
      const deps = {
        client,
        capabilities,
        metrics: createMetrics(),
        logger,
        ledger,
        ...(chartThreads ? { chartThreads } : {}),
      };
      assess = async (patientId, context) =>
        (await assessPatientJob(deps, patientId, context)) === undefined ? 'gone' : 'done';
    }
    const summary = await runBackfill(db, createBulkClient(config), assess, progress, {
      request: options.request,
      dryRun: options.dryRun,
      restart: options.restart,
      concurrency: options.concurrency,
      signal: controller.signal,
    });
    progress.stop();
    await output?.close();
    report(summary, options, output?.counts(), io);
    return summary.counts.failed > 0 || summary.unreadable > 0 ? 1 : 0;
  } catch (err) {
    progress.stop();
    await output?.close().catch(() => undefined);
    // Stopped while the export is polled or downloaded, the abort surfaces as the request's error: same meaning.
    if (err instanceof BackfillInterrupted || controller.signal.aborted) {
      io.stderr('backfill: interrupted; run the same command again to resume where it stopped\n');
      return INTERRUPTED;
    }
    io.stderr(`error: ${issueText(commandError(err, 'backfill'))}\n`);
    return 1;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await chartThreads?.close();
    await db?.close();
  }
}

function report(
  summary: BackfillSummary,
  options: FromServerOptions,
  written: ReadonlyMap<string, number> | undefined,
  io: CliIo,
): void {
  const { counts } = summary;
  const total = counts.done + counts.gone + counts.failed + counts.pending;
  const parts = [
    `${total} patient(s)`,
    `${counts.done} assessed${options.dryRun ? ' (dry run: nothing written to the server)' : ' and written'}`,
    ...(counts.gone ? [`${counts.gone} no longer on the server`] : []),
    ...(counts.failed ? [`${counts.failed} failed`] : []),
    ...(summary.unreadable ? [`${summary.unreadable} unreadable line(s)`] : []),
    ...(summary.exportErrors ? [`${summary.exportErrors} export error file(s) from the server`] : []),
    `${summary.staged} resource(s) downloaded${summary.resumed ? ' (resumed)' : ''}`,
  ];
  io.stderr(`backfill: ${parts.join(', ')}; export as of ${summary.transactionTime}\n`);
  if (written) {
    const files = [...written].sort().map(([type, n]) => `${n} ${type}`);
    io.stderr(`backfill: wrote ${files.join(', ') || 'nothing'} to ${options.output}\n`);
    if (options.dryRun)
      io.stderr('backfill: the export stays staged; run again without --dry-run to write these results\n');
  }
  io.stdout(
    `${JSON.stringify({ ...summary, dryRun: options.dryRun, ...(written ? { output: Object.fromEntries(written) } : {}) })}\n`,
  );
}
