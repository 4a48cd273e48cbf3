/**
 * The first half of `backfill --from-server`: the Bulk Data export kicked off (or the one already kicked off polled
 * again), its manifest recorded, and every output file streamed line by line into the staging tables
 * (backfill-store.ts), a batch at a time. Each step is recorded before the next starts, so a backfill stopped anywhere
 * here resumes at the same step: the same job polled again, the files not yet staged downloaded again (upserts, so a
 * file read twice stages nothing twice). A job the server no longer has (expired, deleted) is exported again.
 * https://hl7.org/fhir/uv/bulkdata/export.html
 */
import type { BulkClient, ExportManifest } from '../bulk/bulk-client.ts';
import { ExportJobGoneError } from '../bulk/bulk-client.ts';
import { FhirRequestError } from '../fhir/http-error.ts';
import { isObject, parseJsonOrUndefined } from '../fhir-model/json.ts';
import { patientIdOf } from '../fhir-model/resource-owner.ts';
import type { BackfillRun, BackfillStore, StagedResource } from './backfill-store.ts';

/** Lines staged per insert: large enough to amortise the round trip, small enough to keep memory flat. */
const STAGE_BATCH = 500;
/** A job found gone is exported again at most this many times in one backfill. */
const MAX_EXPORT_ATTEMPTS = 3;

/** What the export phase tells the person watching. */
export interface StageEvents {
  /** One line about where the export is ("kicked off", "in progress: 40%", "downloading Observation"). */
  note(text: string): void;
  /** Resources staged so far in this process. */
  staged(count: number): void;
}

export interface StageResult {
  readonly manifest: ExportManifest;
  /** Lines that were not a FHIR resource with a type and an id. */
  readonly unreadable: number;
  /** Resources staged by this process (0 when the download was already complete). */
  readonly staged: number;
  /** Bytes of NDJSON read by this process. */
  readonly bytes: number;
}

/**
 * Brings a run to the assess phase: kick-off, poll, download and stage, each resumed where the run stopped.
 * @param store - The backfill's state.
 * @param bulk - The Bulk Data client (FHIR_BASE_URL, the configured auth).
 * @param run - The run (fresh or unfinished).
 * @param events - Progress for the person watching.
 * @param signal - Aborts the waits and downloads (SIGINT).
 * @returns The manifest and what was staged.
 */
export async function stageExport(
  store: BackfillStore,
  bulk: BulkClient,
  run: BackfillRun,
  events: StageEvents,
  signal: AbortSignal,
): Promise<StageResult> {
  let current = run;
  for (let attempt = 1; ; attempt++) {
    try {
      return await stageOnce(store, bulk, current, events, signal);
    } catch (err) {
      if (!isJobGone(err) || attempt >= MAX_EXPORT_ATTEMPTS) throw err;
      events.note('the export job is gone from the server (expired or deleted); exporting again');
      await store.resetExport(current.id);
      current = { id: current.id, request: current.request, phase: 'export' };
    }
  }
}

function isJobGone(err: unknown): boolean {
  return err instanceof ExportJobGoneError || (err instanceof FhirRequestError && [404, 410].includes(err.status));
}

async function stageOnce(
  store: BackfillStore,
  bulk: BulkClient,
  run: BackfillRun,
  events: StageEvents,
  signal: AbortSignal,
): Promise<StageResult> {
  let manifest = run.manifest;
  let statusUrl = run.statusUrl;
  if (!manifest) {
    if (!statusUrl) {
      const { level, since, types } = run.request;
      statusUrl = await bulk.kickOff({ level, types, ...(since ? { since } : {}) }, signal);
      await store.setStatusUrl(run.id, statusUrl);
      events.note('export kicked off');
    } else {
      events.note('export already kicked off; polling it again');
    }
    let last: string | undefined;
    manifest = await bulk.waitForManifest(statusUrl, {
      signal,
      onProgress: (progress) => {
        if (progress && progress !== last) events.note(`export in progress: ${progress}`);
        last = progress;
      },
    });
    await store.setManifest(run.id, manifest);
  }
  const pending = new Set(await store.pendingFiles(run.id));
  const files = manifest.output.filter((f) => pending.has(f.url));
  let unreadable = 0;
  let staged = 0;
  let bytes = 0;
  for (const [index, file] of files.entries()) {
    events.note(`downloading ${file.type} (file ${index + 1} of ${files.length})`);
    let batch: StagedResource[] = [];
    for await (const line of bulk.fileLines(file, manifest, signal)) {
      bytes += line.text.length + 1;
      if (!line.text.trim()) continue;
      const resource = stagedFrom(line.text);
      if (!resource) {
        unreadable++;
        continue;
      }
      batch.push(resource);
      if (batch.length >= STAGE_BATCH) {
        await store.stage(run.id, batch);
        staged += batch.length;
        events.staged(staged);
        batch = [];
      }
    }
    await store.stage(run.id, batch);
    staged += batch.length;
    events.staged(staged);
    await store.fileDone(run.id, file.url);
  }
  await store.setPhase(run.id, 'assess');
  if (statusUrl && files.length > 0) await bulk.release(statusUrl);
  return { manifest, unreadable, staged, bytes };
}

/** One NDJSON line as staged, or undefined when it is not a FHIR resource with a type and an id. */
function stagedFrom(text: string): StagedResource | undefined {
  const value = parseJsonOrUndefined(text);
  if (!isObject(value) || typeof value.resourceType !== 'string' || typeof value.id !== 'string') return undefined;
  const type = value.resourceType;
  const patientId = type === 'Patient' ? value.id : (patientIdOf(value as never) ?? '');
  return { patientId, type, id: value.id, body: text };
}
