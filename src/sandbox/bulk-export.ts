/**
 * The sandbox's Bulk Data `$export` (Bulk Data Access IG v2), at system, `Patient` and `Group/[id]` level:
 * - kick-off (GET, or POST with a Parameters resource; `Prefer: respond-async`): 202 with `Content-Location`, the
 *   job's status URL. The snapshot is taken at once (bulk-export-select.ts); its files are written in the background;
 * - status (GET the status URL): 202 with `X-Progress` and `Retry-After` while the files are written, then 200 with
 *   the manifest (`transactionTime`, `request`, `requiresAccessToken`, `output` with a `count` per file, `error`) and
 *   `Expires`; 500 with an OperationOutcome when the job failed; 404 for a job that never existed, was cancelled or
 *   has expired;
 * - file download (GET a file URL): the NDJSON file, streamed from disk;
 * - DELETE the status URL: the job is cancelled or its files removed (202).
 * Files live in a directory of their own under the OS temp directory and are removed `fileLifetimeMs` after the
 * job completed, on DELETE, and when the sandbox closes. At most MAX_RUNNING_JOBS jobs are written at once; a
 * kick-off beyond that is answered 429 with Retry-After, as busy servers do.
 * https://hl7.org/fhir/uv/bulkdata/export.html
 */
import { randomUUID } from 'node:crypto';
import { createReadStream, mkdirSync, mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Request, Response, Router } from 'express';
import express from 'express';
import { allOk, OutcomeError, outcome } from '../fhir-model/outcomes.ts';
import { describeError, type Logger } from '../logging.ts';
import { sendOutcome } from '../server/error-handler.ts';
import { ExportCancelled, type ExportFile, writeExportFiles } from './bulk-export-files.ts';
import { type ExportRequest, exportLevelOf, readExportRequest } from './bulk-export-request.ts';
import { type ExportSnapshot, selectForExport } from './bulk-export-select.ts';
import type { SandboxRepository } from './memory-store.ts';

export interface BulkExportTuning {
  /** Retry-After (seconds) answered while a job runs (default 1). */
  readonly retryAfterSeconds?: number;
  /** How long a completed job's files are kept (default one hour). */
  readonly fileLifetimeMs?: number;
  /** Resources per NDJSON file (default 100,000). */
  readonly resourcesPerFile?: number;
  /** Whether file downloads need the bearer token (manifest `requiresAccessToken`; default false: the sandbox is open). */
  readonly requiresAccessToken?: boolean;
  /** Awaited before a job writes its files (tests hold a job in progress with it). */
  readonly beforeJobRuns?: (jobId: string) => Promise<void>;
}

export interface BulkExportOptions {
  readonly repo: SandboxRepository;
  /** The sandbox's FHIR base (status and file URLs are under it). */
  readonly baseUrl: string;
  readonly logger: Logger;
  readonly tuning?: BulkExportTuning;
}

export interface BulkExport {
  /** The routes, to mount in front of the FHIR router; `exclusive` runs the snapshot in the sandbox's serial queue. */
  routes(exclusive: <T>(work: () => Promise<T>) => Promise<T>): Router;
  /** Jobs held (being written, or with files on disk). */
  jobCount(): number;
  /** Cancels every job and removes every file. */
  close(): Promise<void>;
}

interface Job {
  readonly id: string;
  readonly request: string;
  readonly dir: string;
  readonly total: number;
  readonly transactionTime: string;
  state: 'running' | 'complete' | 'failed';
  written: number;
  files: ExportFile[];
  finishedAt?: number;
  cancelled: boolean;
  done?: Promise<void>;
}

export const MAX_RUNNING_JOBS = 4;
const STATUS_PATH = 'bulk-export';
const NDJSON = 'application/fhir+ndjson';

/**
 * Creates the sandbox's Bulk Data export.
 * @param options - Repository, base URL, logger, tuning.
 * @returns The routes and their jobs.
 */
export function createBulkExport(options: BulkExportOptions): BulkExport {
  const { repo, baseUrl, logger } = options;
  const tuning = options.tuning ?? {};
  const lifetimeMs = tuning.fileLifetimeMs ?? 3_600_000;
  const jobs = new Map<string, Job>();
  let root: string | undefined;
  const sweeper = setInterval(() => sweep(), Math.min(lifetimeMs, 60_000));
  sweeper.unref();

  function sweep(now = Date.now()): void {
    for (const job of jobs.values()) {
      if (job.finishedAt !== undefined && now - job.finishedAt >= lifetimeMs) void remove(job);
    }
  }

  async function remove(job: Job): Promise<void> {
    job.cancelled = true;
    jobs.delete(job.id);
    await job.done?.catch(() => undefined);
    await rm(job.dir, { recursive: true, force: true });
  }

  function start(request: ExportRequest, requestUrl: string, snapshot: ExportSnapshot): Job {
    root ??= mkdtempSync(join(tmpdir(), 'irecist-sandbox-export-'));
    const id = randomUUID();
    const dir = join(root, id);
    mkdirSync(dir);
    const job: Job = {
      id,
      request: requestUrl,
      dir,
      total: snapshot.total,
      transactionTime: snapshot.transactionTime,
      state: 'running',
      written: 0,
      files: [],
      cancelled: false,
    };
    jobs.set(id, job);
    job.done = run(job, snapshot);
    logger.info(
      { jobId: id, level: request.level.kind, types: request.types.length, resources: job.total },
      'bulk export started',
    );
    return job;
  }

  async function run(job: Job, snapshot: ExportSnapshot): Promise<void> {
    try {
      await tuning.beforeJobRuns?.(job.id);
      job.files = await writeExportFiles(snapshot, job.dir, {
        perFile: tuning.resourcesPerFile ?? 100_000,
        onProgress: (written) => {
          job.written = written;
        },
        cancelled: () => job.cancelled,
      });
      job.state = 'complete';
      logger.info({ jobId: job.id, files: job.files.length, resources: job.total }, 'bulk export complete');
    } catch (err) {
      job.state = 'failed';
      if (!(err instanceof ExportCancelled) && !job.cancelled) {
        logger.error({ jobId: job.id, err: describeError(err) }, 'bulk export failed');
      }
    } finally {
      job.finishedAt = Date.now();
    }
  }

  function jobOf(req: Request): Job {
    const job = jobs.get(String(req.params.job));
    if (!job)
      throw new OutcomeError(outcome('not-found', 'Export job not found (never started, cancelled or expired)'), 404);
    return job;
  }

  const statusUrl = (job: Job): string => `${baseUrl}/${STATUS_PATH}/${job.id}`;

  function sendStatus(res: Response, job: Job): void {
    if (job.state === 'running') {
      const percent = job.total === 0 ? 0 : Math.floor((job.written / job.total) * 100);
      res.setHeader('X-Progress', `${percent}% (${job.written} of ${job.total} resources written)`);
      res.setHeader('Retry-After', String(tuning.retryAfterSeconds ?? 1));
      res.status(202).end();
      return;
    }
    if (job.state === 'failed') {
      sendOutcome(res, 500, outcome('exception', 'Export failed'));
      return;
    }
    res.setHeader('Expires', new Date((job.finishedAt ?? Date.now()) + lifetimeMs).toUTCString());
    res.status(200).json({
      transactionTime: job.transactionTime,
      request: job.request,
      requiresAccessToken: tuning.requiresAccessToken ?? false,
      output: job.files.map((f) => ({ type: f.type, url: `${statusUrl(job)}/${f.name}`, count: f.count })),
      deleted: [],
      error: [],
    });
  }

  async function sendFile(req: Request, res: Response): Promise<void> {
    const job = jobOf(req);
    const file = job.state === 'complete' ? job.files.find((f) => f.name === req.params.file) : undefined;
    if (!file) throw new OutcomeError(outcome('not-found', 'Export file not found'), 404);
    if (tuning.requiresAccessToken && !/^Bearer\s+\S/i.test(req.headers.authorization ?? '')) {
      throw new OutcomeError(outcome('login', 'This export requires an access token'), 401);
    }
    res.status(200).setHeader('Content-Type', NDJSON);
    await pipeline(createReadStream(join(job.dir, file.name)), res).catch((err: unknown) => {
      if (!res.destroyed) throw err; // a client that hung up is no failure of ours
    });
  }

  function routes(exclusive: <T>(work: () => Promise<T>) => Promise<T>): Router {
    const router = express.Router();
    router.use(async (req, res, next) => {
      const level = exportLevelOf(req.path);
      if (!level) return next();
      if (req.method !== 'GET' && req.method !== 'POST') {
        throw new OutcomeError(outcome('not-supported', 'Method not allowed'), 405);
      }
      const query = new URL(req.url, 'http://sandbox.invalid').searchParams;
      const request = readExportRequest(level, query, req.method === 'POST' ? req.body : undefined, req.headers.prefer);
      const running = [...jobs.values()].filter((j) => j.state === 'running').length;
      if (running >= MAX_RUNNING_JOBS) {
        res.setHeader('Retry-After', '10');
        throw new OutcomeError(outcome('throttled', 'Too many export jobs running; try again later'), 429);
      }
      const snapshot = await exclusive(() => selectForExport(repo, request));
      const job = start(request, `${new URL(baseUrl).origin}${req.originalUrl}`, snapshot);
      res.setHeader('Content-Location', statusUrl(job));
      sendOutcome(res, 202, allOk('Export started'));
    });
    router.get(`/${STATUS_PATH}/:job`, (req, res) => sendStatus(res, jobOf(req)));
    router.delete(`/${STATUS_PATH}/:job`, async (req, res) => {
      await remove(jobOf(req));
      sendOutcome(res, 202, allOk('Export job deleted'));
    });
    router.get(`/${STATUS_PATH}/:job/:file`, sendFile);
    return router;
  }

  return {
    routes,
    jobCount: () => jobs.size,
    async close() {
      clearInterval(sweeper);
      await Promise.all([...jobs.values()].map((job) => remove(job)));
      if (root) await rm(root, { recursive: true, force: true });
    },
  };
}
