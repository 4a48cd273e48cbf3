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

const entrySchema = z.object({
  fullUrl: z.string().optional(),
  resource: z
    .looseObject({
      resourceType: z.string().regex(/^[A-Z][A-Za-z]{1,63}$/, 'resourceType must be a FHIR resource type name'),
      id: z.string().regex(idPattern, 'id must be a FHIR id').optional(),
    })
    .optional(),
  request: z.looseObject({ method: z.string().optional() }).optional(),
});

const bundleSchema = z.looseObject({
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
  const parsed = bundleSchema.safeParse(input);
  if (!parsed.success)
    throw new OperationOutcomeError(zodIssuesToOutcome(parsed.error.issues, 'Input is not a usable FHIR Bundle'));
  const byKey = new Map<string, Resource>();
  const aliases = new Map<string, string>();
  (parsed.data.entry ?? []).forEach((entry, index) => {
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
