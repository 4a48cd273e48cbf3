/**
 * The sandbox's reading of a Bulk Data kick-off request (Bulk Data Access IG v2, "Bulk Data Kick-off Request"):
 * the level from the path (system `$export`, `Patient/$export`, `Group/[id]/$export`), the parameters from the query
 * string or, for a POST, a Parameters resource, and `Prefer: respond-async` (required). `_type`, `_since` and
 * `_outputFormat` (NDJSON only) are supported; any other parameter is refused with 400, or ignored when the client
 * sent `Prefer: handling=lenient` (as the IG allows).
 * https://hl7.org/fhir/uv/bulkdata/export.html#query-parameters
 */
import type { Parameters } from '@medplum/fhirtypes';
import type { ExportLevel } from '../bulk/export-request.ts';
import { isFhirInstant } from '../fhir-model/dates.ts';
import { isFhirId } from '../fhir-model/ids.ts';
import { isObject } from '../fhir-model/json.ts';
import { badRequest, OutcomeError, outcome } from '../fhir-model/outcomes.ts';
import { isKnownResourceType } from '../fhir-model/resource-types.ts';

export type { ExportLevel };

export interface ExportRequest {
  readonly level: ExportLevel;
  /** Resource types asked for (`_type`); empty = every type. */
  readonly types: readonly string[];
  /** `_since` as epoch milliseconds: only resources changed after it. */
  readonly sinceMs?: number;
}

const NDJSON_FORMATS = new Set(['application/fhir+ndjson', 'application/ndjson', 'ndjson']);
const SUPPORTED = new Set(['_type', '_since', '_outputFormat']);
const KICK_OFF_PATH = /^\/(?:(Patient)\/|Group\/([^/]+)\/)?\$export\/?$/;

/**
 * The level of a kick-off path, or undefined when the path is not one.
 * @param path - The request path below the FHIR base (`/Group/oncology/$export`).
 * @returns The level.
 */
export function exportLevelOf(path: string): ExportLevel | undefined {
  const match = KICK_OFF_PATH.exec(path);
  if (!match) return undefined;
  if (match[1]) return { kind: 'patient' };
  if (match[2] !== undefined) {
    const groupId = decodeURIComponent(match[2]);
    if (!isFhirId(groupId)) throw badRequest('Invalid Group id', ['Group.id']);
    return { kind: 'group', groupId };
  }
  return { kind: 'system' };
}

/**
 * Reads a kick-off request.
 * @param level - From the path (exportLevelOf).
 * @param query - The query string's parameters.
 * @param body - The POST body (a Parameters resource), if any.
 * @param prefer - The Prefer header(s).
 * @returns The export asked for.
 * @throws OutcomeError 400 for a missing `Prefer: respond-async`, a bad value or an unsupported parameter.
 */
export function readExportRequest(
  level: ExportLevel,
  query: URLSearchParams,
  body: unknown,
  prefer: string | string[] | undefined,
): ExportRequest {
  const preferences = (Array.isArray(prefer) ? prefer.join(',') : (prefer ?? '')).toLowerCase();
  if (!/(^|[,;\s])respond-async($|[,;\s])/.test(preferences)) {
    throw badRequest('Bulk Data export requires the header Prefer: respond-async', ['Prefer']);
  }
  const lenient = /handling\s*=\s*lenient/.test(preferences);
  const params = [...query, ...parametersOf(body)];
  const types: string[] = [];
  let sinceMs: number | undefined;
  for (const [name, value] of params) {
    if (!SUPPORTED.has(name)) {
      if (lenient) continue;
      throw new OutcomeError(
        outcome('not-supported', 'Bulk Data export parameter not supported', { expression: [name] }),
        400,
      );
    }
    if (name === '_outputFormat' && !NDJSON_FORMATS.has(value)) {
      throw badRequest('Only NDJSON output is supported', ['_outputFormat']);
    }
    if (name === '_since') {
      if (!isFhirInstant(value)) throw badRequest('_since must be a FHIR instant', ['_since']);
      sinceMs = Date.parse(value);
    }
    if (name === '_type') {
      for (const type of value.split(',').map((t) => t.trim())) {
        if (!isKnownResourceType(type)) {
          if (lenient) continue;
          throw badRequest('Unknown resource type in _type', ['_type']);
        }
        if (!types.includes(type)) types.push(type);
      }
    }
  }
  return { level, types, ...(sinceMs === undefined ? {} : { sinceMs }) };
}

/** The name/value pairs of a Parameters body (values of any primitive type), nothing for anything else. */
function parametersOf(body: unknown): [string, string][] {
  if (!isObject(body) || Object.keys(body).length === 0) return [];
  if (body.resourceType !== 'Parameters') throw badRequest('A POST kick-off takes a Parameters resource');
  return ((body as unknown as Parameters).parameter ?? []).flatMap((p) => {
    const entry = Object.entries(p).find(([key]) => key.startsWith('value'));
    const value = entry?.[1];
    return p.name && (typeof value === 'string' || typeof value === 'number') ? [[p.name, String(value)]] : [];
  });
}
