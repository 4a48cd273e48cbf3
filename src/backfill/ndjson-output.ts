/**
 * The NDJSON a dry run writes instead of writing to the server: one file per resource type (`DiagnosticReport.ndjson`,
 * `Flag.ndjson`, ...), a line per resource, appended patient by patient (nothing held beyond one patient's results).
 * Output resources get the ids of their deterministic urn:uuid, and references between them are rewritten to match, so
 * the files can be loaded with `$import` or a plain PUT per line.
 * https://hl7.org/fhir/uv/bulkdata/export.html#file-request (the same NDJSON shape)
 */

import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { BundleEntry, Resource } from '@medplum/fhirtypes';

const URN_REFERENCE = /"reference":"(urn:uuid:[0-9a-f-]+)"/g;

/**
 * Gives each entry's resource the id of its urn:uuid and rewrites references between them.
 * @param entries - A transaction's entries.
 * @returns The resources, ready to PUT.
 */
export function toPlainResources(entries: readonly BundleEntry[]): Resource[] {
  const ids = new Map<string, string>();
  for (const e of entries) {
    if (e.fullUrl?.startsWith('urn:uuid:') && e.resource)
      ids.set(e.fullUrl, `${e.resource.resourceType}/${e.resource.id ?? e.fullUrl.slice(9)}`);
  }
  return entries.flatMap((e) => {
    if (!e.resource) return [];
    const text = JSON.stringify(e.resource).replace(URN_REFERENCE, (m, u: string) =>
      ids.has(u) ? `"reference":"${ids.get(u)}"` : m,
    );
    const resource = JSON.parse(text) as Resource;
    return [{ ...resource, id: resource.id ?? e.fullUrl?.slice(9) } as Resource];
  });
}

export interface NdjsonOutput {
  /** Appends a transaction's resources, each to its type's file. */
  append(entries: readonly BundleEntry[]): Promise<void>;
  /** Lines written per type so far. */
  counts(): ReadonlyMap<string, number>;
  /** Flushes and closes every file. */
  close(): Promise<void>;
}

/**
 * Opens an output folder (made if missing); each type's file is started afresh when its first line comes.
 * @param dir - The folder.
 * @returns The writer.
 */
export async function openNdjsonOutput(dir: string): Promise<NdjsonOutput> {
  await mkdir(dir, { recursive: true });
  const streams = new Map<string, WriteStream>();
  const counts = new Map<string, number>();
  return {
    async append(entries) {
      for (const resource of toPlainResources(entries)) {
        const type = resource.resourceType;
        let stream = streams.get(type);
        if (!stream) {
          stream = createWriteStream(join(dir, `${type}.ndjson`), { flags: 'w' });
          streams.set(type, stream);
        }
        counts.set(type, (counts.get(type) ?? 0) + 1);
        if (!stream.write(`${JSON.stringify(resource)}\n`)) await once(stream, 'drain');
      }
    },
    counts: () => counts,
    async close() {
      await Promise.all(
        [...streams.values()].map(
          (s) => new Promise<void>((resolve, reject) => s.end((err?: Error | null) => (err ? reject(err) : resolve()))),
        ),
      );
    },
  };
}
