/**
 * What a Bulk Data export asks for (Bulk Data Access IG v2, "Bulk Data Kick-off Request"), checked before it is put
 * into a URL: the level (system `$export`, `Patient/$export`, `Group/[id]/$export`), `_type` (known resource
 * types) and `_since` (a FHIR instant). The sandbox reads the same levels (src/sandbox/bulk-export-request.ts).
 * https://hl7.org/fhir/uv/bulkdata/export.html#bulk-data-kick-off-request
 */
import { isFhirInstant } from '../fhir-model/dates.ts';
import { isFhirId } from '../fhir-model/ids.ts';
import { badRequest } from '../fhir-model/outcomes.ts';
import { isKnownResourceType } from '../fhir-model/resource-types.ts';

export type ExportLevel = { kind: 'system' } | { kind: 'patient' } | { kind: 'group'; groupId: string };

export interface ExportKickOff {
  readonly level: ExportLevel;
  /** `_type`: only these resource types (none = every type the server exports). */
  readonly types?: readonly string[];
  /** `_since`: only resources changed after this FHIR instant. */
  readonly since?: string;
}

/**
 * The kick-off URL of an export.
 * @param baseUrl - The FHIR base, without trailing slash.
 * @param request - What to export.
 * @returns `[base]/$export`, `[base]/Patient/$export` or `[base]/Group/[id]/$export` with `_type` and `_since`.
 * @throws OutcomeError 400 for an invalid Group id, an unknown resource type or a `_since` that is not an instant.
 */
export function kickOffUrl(baseUrl: string, request: ExportKickOff): string {
  const { level } = request;
  if (level.kind === 'group' && !isFhirId(level.groupId)) throw badRequest('Invalid Group id', ['group']);
  const unknown = (request.types ?? []).find((t) => !isKnownResourceType(t));
  if (unknown !== undefined) throw badRequest('Unknown resource type', ['type']);
  if (request.since !== undefined && !isFhirInstant(request.since)) {
    throw badRequest('since must be a FHIR instant (e.g. 2026-01-31T00:00:00Z)', ['since']);
  }
  const path =
    level.kind === 'system'
      ? '$export'
      : level.kind === 'patient'
        ? 'Patient/$export'
        : `Group/${level.groupId}/$export`;
  const url = new URL(`${baseUrl}/${path}`);
  if (request.types?.length) url.searchParams.set('_type', request.types.join(','));
  if (request.since) url.searchParams.set('_since', request.since);
  return url.toString();
}
