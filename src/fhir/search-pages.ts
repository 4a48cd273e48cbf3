/**
 * Search with paging: follows `Bundle.link[relation=next]` until the last page.
 * https://hl7.org/fhir/R4/http.html#paging
 */
import type { MedplumClient, QueryTypes } from '@medplum/core';
import type { Bundle, Resource, ResourceType } from '@medplum/fhirtypes';
import { OutcomeError, outcome } from '../fhir-model/outcomes.ts';

export interface SearchPagesOptions {
  /** Stop with an error after this many pages (a server that loops its `next` link). Default 10 000. */
  maxPages?: number;
}

/**
 * Request options that bypass the MedplumClient cache (polling and registration need the server's current state).
 * A fresh object each call: MedplumClient writes method, headers and body into the options it is given.
 */
export const noCache = (): { cache: 'no-cache' } => ({ cache: 'no-cache' });

/**
 * Yields every page of a search, first page from `resourceType` + `query`, later pages from the server's `next`
 * links. Only `match` entries (and entries without a search mode) are yielded; `include`/`outcome` are skipped.
 */
export async function* searchPages<T extends Resource = Resource>(
  client: MedplumClient,
  resourceType: ResourceType,
  query: QueryTypes,
  options: SearchPagesOptions = {},
): AsyncGenerator<T[]> {
  const maxPages = options.maxPages ?? 10_000;
  const seen = new Set<string>();
  let bundle: Bundle = await client.search(resourceType, query, noCache());
  for (let page = 1; ; page++) {
    yield (bundle.entry ?? [])
      .filter((e) => e.resource && (!e.search?.mode || e.search.mode === 'match'))
      .map((e) => e.resource as T);
    const next = bundle.link?.find((l) => l.relation === 'next')?.url;
    if (!next) return;
    if (seen.has(next) || page >= maxPages) {
      throw new OutcomeError(
        outcome('too-costly', 'Search paging did not terminate', { diagnostics: `${resourceType} pages=${page}` }),
        502,
      );
    }
    seen.add(next);
    bundle = await client.get<Bundle>(next, noCache());
  }
}

/** All matches of a search, across pages. */
export async function searchAll<T extends Resource = Resource>(
  client: MedplumClient,
  resourceType: ResourceType,
  query: QueryTypes,
  options?: SearchPagesOptions,
): Promise<T[]> {
  const out: T[] = [];
  for await (const page of searchPages<T>(client, resourceType, query, options)) out.push(...page);
  return out;
}
