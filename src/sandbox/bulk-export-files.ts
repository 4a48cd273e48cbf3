/**
 * Writes an export snapshot as NDJSON files (one resource per line, `application/fhir+ndjson`), one or more files per
 * resource type, without holding a file in memory: lines go out in chunks of about a megabyte, honouring the stream's
 * back-pressure, and the event loop is given back between chunks so the sandbox keeps answering while a large export
 * is written. A cancelled job stops at the next chunk.
 * https://hl7.org/fhir/uv/bulkdata/export.html#file-request
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { Resource } from '@medplum/fhirtypes';
import type { ExportSnapshot } from './bulk-export-select.ts';

export interface ExportFile {
  readonly type: string;
  /** File name inside the job's directory (also the last segment of its URL). */
  readonly name: string;
  readonly count: number;
}

export interface WriteFilesOptions {
  /** Resources per file; a type with more is split over several files. */
  readonly perFile: number;
  /** Told how many resources have been written so far. */
  readonly onProgress: (written: number) => void;
  /** Polled between chunks: true stops the writing (the caller removes the directory). */
  readonly cancelled: () => boolean;
}

const CHUNK_CHARS = 1 << 20;

/** Thrown when a job was cancelled while its files were being written. */
export class ExportCancelled extends Error {
  constructor() {
    super('export cancelled');
    this.name = 'ExportCancelled';
  }
}

/**
 * Writes the files of a snapshot into `dir` (which must exist).
 * @param snapshot - What to write.
 * @param dir - The job's directory.
 * @param options - File size, progress, cancellation.
 * @returns The files, in type order.
 * @throws ExportCancelled when cancelled; a file system error as it comes.
 */
export async function writeExportFiles(
  snapshot: ExportSnapshot,
  dir: string,
  options: WriteFilesOptions,
): Promise<ExportFile[]> {
  const files: ExportFile[] = [];
  let written = 0;
  for (const [type, resources] of snapshot.byType) {
    for (let start = 0, part = 1; start < resources.length; start += options.perFile, part++) {
      const name = `${type}-${part}.ndjson`;
      const slice = resources.slice(start, start + options.perFile);
      await writeOneFile(join(dir, name), slice, options.cancelled, (n) => {
        written += n;
        options.onProgress(written);
      });
      files.push({ type, name, count: slice.length });
    }
  }
  return files;
}

async function writeOneFile(
  path: string,
  resources: readonly Resource[],
  cancelled: () => boolean,
  onLines: (n: number) => void,
): Promise<void> {
  const stream = createWriteStream(path, { encoding: 'utf8' });
  const failed = once(stream, 'error').then(([err]) => Promise.reject(err));
  failed.catch(() => undefined);
  try {
    let chunk = '';
    let lines = 0;
    for (const resource of resources) {
      chunk += `${JSON.stringify(resource)}\n`;
      lines++;
      if (chunk.length < CHUNK_CHARS) continue;
      await flush(stream, chunk, failed);
      onLines(lines);
      chunk = '';
      lines = 0;
      await yieldToEventLoop();
      if (cancelled()) throw new ExportCancelled();
    }
    if (chunk) await flush(stream, chunk, failed);
    onLines(lines);
    stream.end();
    await Promise.race([once(stream, 'finish'), failed]);
  } finally {
    if (!stream.writableFinished) stream.destroy();
  }
}

async function flush(stream: NodeJS.WritableStream, chunk: string, failed: Promise<never>): Promise<void> {
  if (!stream.write(chunk)) await Promise.race([once(stream, 'drain'), failed]);
}
