/**
 * Change detection by Group `$export` with `_since` (issue #9 item 2), for servers with neither Subscriptions nor
 * `_lastUpdated` (Epic): every interval the configured Group is exported with `_since` = the `transactionTime` of the
 * last successful run and `_type` = the input types; each patient named in the files is queued once.
 * https://hl7.org/fhir/uv/bulkdata/export.html#query-parameters (`_since`, `transactionTime`)
 *
 * - At-least-once: the checkpoint moves to the manifest's `transactionTime` only after every job was queued; a failed
 *   run leaves it, so the next run exports the same changes again.
 * - No checkpoint (the first start): one is stored at now and nothing is exported (earlier data is the backfill's).
 * - Resources the adapter wrote are skipped (its own results must not wake it up again).
 */
import type { Resource } from '@medplum/fhirtypes';
import type { BulkClient } from '../bulk/bulk-client.ts';
import { parseJsonOrUndefined } from '../fhir-model/json.ts';
import { isAdapterWritten, patientIdOf } from '../fhir-model/resource-owner.ts';
import { logger } from '../logging.ts';
import { createPeriodicTask } from '../util/periodic-task.ts';
import type { AssessPatientJob, CheckpointStore } from './poller.ts';

const log = logger.child({ component: 'bulk-export-watch' });

export interface BulkExportWatchOptions {
  bulk: BulkClient;
  groupId: string;
  /** `_type`: the input types. */
  types: readonly string[];
  store: CheckpointStore;
  checkpointKey: string;
  enqueue: (jobs: AssessPatientJob[]) => Promise<void>;
  intervalMs: number;
  /** Clock for the first checkpoint (tests). */
  now?: () => number;
}

export interface BulkWatchResult {
  /** The `_since` used (undefined on the first start, when nothing is exported). */
  since?: string;
  patientIds: string[];
  /** The stored checkpoint after the run (a `transactionTime`). */
  checkpoint: string;
}

/** Reads the stored checkpoint: `{ "transactionTime": instant }`. */
function readCheckpoint(value: unknown): string | undefined {
  const parsed = typeof value === 'string' ? parseJsonOrUndefined(value) : value;
  const time = (parsed as { transactionTime?: unknown } | undefined)?.transactionTime;
  return typeof time === 'string' && !Number.isNaN(Date.parse(time)) ? time : undefined;
}

/**
 * Runs one export and collects the patients it names.
 * @returns The patient ids (first-seen order) and the manifest's transaction time.
 */
async function exportChanges(
  options: BulkExportWatchOptions,
  since: string,
): Promise<{ patientIds: string[]; transactionTime: string }> {
  const { bulk } = options;
  const level = { kind: 'group' as const, groupId: options.groupId };
  let statusUrl: string;
  try {
    statusUrl = await bulk.kickOff({ level, types: options.types, since });
  } catch (err) {
    // No such Group (yet): the sandbox makes `oncology` with the first patient loaded; a real server's is a setting.
    if ((err as { status?: number }).status !== 404) throw err;
    log.warn({ group: options.groupId }, 'Group $export: the Group does not exist (yet); nothing to watch');
    return { patientIds: [], transactionTime: since };
  }
  try {
    const manifest = await bulk.waitForManifest(statusUrl);
    const seen = new Set<string>();
    for (const file of manifest.output) {
      for await (const line of bulk.fileLines(file, manifest)) {
        const resource = parseJsonOrUndefined(line.text) as Resource | undefined;
        if (!resource?.resourceType || isAdapterWritten(resource)) continue;
        const patientId = patientIdOf(resource);
        if (patientId) seen.add(patientId);
      }
    }
    return { patientIds: [...seen], transactionTime: manifest.transactionTime };
  } finally {
    await bulk.release(statusUrl);
  }
}

/**
 * The Group `$export` watch as a periodic task (first run at start: the catch-up from the stored checkpoint).
 * @param options - The Bulk Data client, Group, types, checkpoint store and key, enqueue and interval.
 * @returns The task.
 */
export function createBulkExportWatch(options: BulkExportWatchOptions) {
  const now = options.now ?? Date.now;
  async function run(): Promise<BulkWatchResult> {
    const since = readCheckpoint(await options.store.get(options.checkpointKey));
    if (!since) {
      const checkpoint = new Date(now()).toISOString();
      await options.store.set(options.checkpointKey, JSON.stringify({ transactionTime: checkpoint }));
      log.info('First start: Group $export checkpoint created');
      return { patientIds: [], checkpoint };
    }
    const found = await exportChanges(options, since);
    const jobs = found.patientIds.map((patientId): AssessPatientJob => ({ kind: 'assess-patient', patientId }));
    for (let i = 0; i < jobs.length; i += 500) await options.enqueue(jobs.slice(i, i + 500));
    // Only now, with the jobs queued, move the checkpoint.
    await options.store.set(options.checkpointKey, JSON.stringify({ transactionTime: found.transactionTime }));
    if (jobs.length > 0) log.info({ patients: jobs.length }, 'Group $export found changed patients');
    return { since, patientIds: found.patientIds, checkpoint: found.transactionTime };
  }
  return createPeriodicTask(run, options.intervalMs, (err) => {
    log.error(
      { errorName: (err as Error)?.name },
      'Group $export run failed; checkpoint unchanged, retrying next interval',
    );
  });
}
