/**
 * Reads a Bundle of one patient's resources (collection, transaction, batch, searchset or history) into a
 * de-duplicated resource list: a newer version of a resource replaces an older one (contract section 1).
 */
import type { Resource } from '@medplum/fhirtypes';
import { z } from 'zod';
import { badRequest, OutcomeError as OperationOutcomeError, zodIssuesToOutcome } from '../fhir-model/outcomes.ts';
import { compareVersions } from './fhir-helpers.ts';

/** Upper bound on entries, so a hostile file cannot make the engine work without end. */
export const MAX_ENTRIES = 200_000;

const idPattern = /^[A-Za-z0-9\-.]{1,64}$/;
const resourceTypePattern = /^[A-Z][A-Za-z]{1,63}$/;

const entrySchema = z.object({
  fullUrl: z.string().optional(),
  resource: z
    .looseObject({
      resourceType: z.string().regex(resourceTypePattern, 'resourceType must be a FHIR resource type name'),
      id: z.string().regex(idPattern, 'id must be a FHIR id').optional(),
    })
    .optional(),
  request: z.looseObject({ method: z.string().optional() }).optional(),
});

type Entry = z.infer<typeof entrySchema>;

const BUNDLE_TYPES: ReadonlySet<unknown> = new Set(['collection', 'transaction', 'batch', 'searchset', 'history']);
const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const optionalString = (v: unknown): boolean => v === undefined || typeof v === 'string';

/** The schema's rules (below), checked by hand: true only when bundleSchema would accept `input`. */
export function isUsableBundle(input: unknown): input is { entry?: unknown[] } {
  if (!isPlainObject(input) || input.resourceType !== 'Bundle' || !BUNDLE_TYPES.has(input.type)) return false;
  const entry = input.entry;
  if (entry === undefined) return true;
  if (!Array.isArray(entry) || entry.length > MAX_ENTRIES) return false;
  for (const e of entry) {
    if (!isPlainObject(e) || !optionalString(e.fullUrl)) return false;
    const r = e.resource;
    if (r !== undefined) {
      if (!isPlainObject(r) || typeof r.resourceType !== 'string' || !resourceTypePattern.test(r.resourceType))
        return false;
      if (r.id !== undefined && (typeof r.id !== 'string' || !idPattern.test(r.id))) return false;
    }
    const q = e.request;
    if (q !== undefined && (!isPlainObject(q) || !optionalString(q.method))) return false;
  }
  return true;
}

/** The Bundle envelope the engine accepts (contract section 1); its messages say what is wrong. */
export const bundleSchema = z.looseObject({
  resourceType: z.literal('Bundle', { error: 'resourceType must be Bundle' }),
  type: z.enum(['collection', 'transaction', 'batch', 'searchset', 'history'], {
    error: 'type must be collection, transaction, batch, searchset or history',
  }),
  entry: z.array(entrySchema).max(MAX_ENTRIES).optional(),
});

/** Parses JSON text, turning syntax errors into a 400 OperationOutcome (no stack, no echo of the input). */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw badRequest('Input is not valid JSON');
  }
}

/**
 * Validates the Bundle envelope and returns its resources, newest version of each. Entries without a
 * resource or with request.method DELETE are left out; resources without an id get one from their fullUrl
 * or their position.
 */
export interface BundleContents {
  resources: Resource[];
  /** fullUrl (e.g. urn:uuid:…) -> "Type/id", so references between entries resolve. */
  aliases: Map<string, string>;
}

export function readBundle(input: unknown): BundleContents {
  // The hand-written check accepts exactly what the schema accepts, at a fraction of the cost on large Bundles; the
  // schema runs only on input the check refuses, to say what is wrong.
  let entries: Entry[];
  if (isUsableBundle(input)) entries = (input.entry ?? []) as Entry[];
  else {
    const parsed = bundleSchema.safeParse(input);
    if (!parsed.success)
      throw new OperationOutcomeError(zodIssuesToOutcome(parsed.error.issues, 'Input is not a usable FHIR Bundle'));
    entries = parsed.data.entry ?? [];
  }
  const byKey = new Map<string, Resource>();
  const aliases = new Map<string, string>();
  entries.forEach((entry, index) => {
    if (!entry.resource || entry.request?.method === 'DELETE') return;
    const resource = entry.resource as unknown as Resource;
    const id = resource.id ?? idFromFullUrl(entry.fullUrl) ?? `entry-${index}`;
    const withId = resource.id === id ? resource : ({ ...resource, id } as Resource);
    const key = `${withId.resourceType}/${id}`;
    if (entry.fullUrl) aliases.set(entry.fullUrl, key);
    const existing = byKey.get(key);
    if (!existing || compareVersions(withId, existing) >= 0) byKey.set(key, withId);
  });
  return { resources: [...byKey.values()], aliases };
}

function idFromFullUrl(fullUrl: string | undefined): string | undefined {
  if (!fullUrl) return undefined;
  const last = fullUrl.split(/[/:]/).pop();
  return last && idPattern.test(last) ? last : undefined;
}
