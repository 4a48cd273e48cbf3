/**
 * Whether a resource the adapter wrote is still as the adapter left it (contract section 2, "Resources others
 * changed"; issue #11 item 1). Every resource the adapter writes carries, in `meta.tag`, a digest of the content it
 * wrote; the resource is the adapter's to change only while its content still gives that digest. Anyone else's change
 * (status, conclusion, text, a note, a period) breaks the match, and the adapter then leaves the resource alone.
 * The digest leaves out what servers assign or rewrite: `id`, `meta`, the narrative `text`, and reference values
 * (server-assigned ids of the adapter's own resources; a transaction and a sequence of creates give different ones).
 * A digest rather than a recorded `meta.versionId`: it needs no state, survives a lost database, and a server that
 * adds versions on its own (a re-index, a no-change update) does not make the adapter's resources look foreign.
 * https://hl7.org/fhir/R4/resource.html#Meta
 */
import { createHash } from 'node:crypto';
import type { Coding, Resource } from '@medplum/fhirtypes';
import { BASE, IDENTIFIER_SYSTEM } from '../codes.ts';

/** The meta.tag system of the content digest. */
export const WRITTEN_DIGEST_SYSTEM = `${BASE}/written-digest`;

/** A later version of a report others changed carries the earlier one's id after this (`…/supersedes/<id>`). */
export const SUPERSEDES = '/supersedes/';

const LEFT_OUT = new Set(['id', 'meta', 'text']);

function canonical(value: unknown, depth = 0): unknown {
  if (Array.isArray(value)) return value.map((v) => canonical(v, depth + 1));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) {
      if (depth === 0 && LEFT_OUT.has(k)) continue;
      if (k === 'reference') continue;
      out[k] = canonical((value as Record<string, unknown>)[k], depth + 1);
    }
    return out;
  }
  return value;
}

/**
 * The digest of a resource's content as the adapter decides it.
 * @param resource - The resource.
 * @returns 32 hex characters.
 */
export function contentDigest(resource: Resource): string {
  return createHash('sha256')
    .update(JSON.stringify(canonical(resource)))
    .digest('hex')
    .slice(0, 32);
}

/** The digest the adapter recorded on the resource when it last wrote it. */
export function recordedDigest(resource: Resource): string | undefined {
  return resource.meta?.tag?.find((t) => t.system === WRITTEN_DIGEST_SYSTEM)?.code;
}

/**
 * True while the resource is as the adapter left it (it carries a digest and its content still gives it).
 * A resource without a digest (written by someone else, or by an adapter before digests) is not the adapter's.
 */
export function isAsLeft(resource: Resource): boolean {
  const recorded = recordedDigest(resource);
  return recorded !== undefined && recorded === contentDigest(resource);
}

/**
 * The resource ready to write: server-kept meta (versionId, lastUpdated) dropped, the digest of its content tagged.
 * @param resource - The content to write.
 * @returns A copy with `meta.tag` carrying the digest.
 */
export function withDigest<T extends Resource>(resource: T): T {
  const { versionId: _v, lastUpdated: _l, ...meta } = resource.meta ?? {};
  const tags: Coding[] = (meta.tag ?? []).filter((t) => t.system !== WRITTEN_DIGEST_SYSTEM);
  tags.push({ system: WRITTEN_DIGEST_SYSTEM, code: contentDigest(resource) });
  return { ...resource, meta: { ...meta, tag: tags } };
}

/** The adapter's identifier value on a resource (undefined: not one of the adapter's). */
export function adapterKey(resource: Resource): string | undefined {
  const identifiers = (resource as { identifier?: { system?: string; value?: string }[] }).identifier ?? [];
  return identifiers.find((i) => i.system === IDENTIFIER_SYSTEM)?.value;
}

/** The slot a key belongs to: the key without its `/supersedes/<id>` part. */
export function slotOf(key: string): string {
  const at = key.indexOf(SUPERSEDES);
  return at < 0 ? key : key.slice(0, at);
}

/**
 * The timepoint date an output belongs to (`<patient>/<kind>/<date>`), undefined for outputs that are not per
 * timepoint (Flags: `<patient>/flag/<status>/<since>`).
 */
export function timepointOf(key: string): string | undefined {
  const parts = slotOf(key).split('/');
  return parts.length === 3 && parts[1] !== 'flag' ? parts[2] : undefined;
}
