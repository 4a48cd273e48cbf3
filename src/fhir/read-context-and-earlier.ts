/**
 * The worker's one read before its write (issue #13): the patient's context (read-patient-context.ts) and, in the
 * same batch, the write plan's searches for the adapter's earlier results (written-resources.ts) that the context
 * read does not make already (DiagnosticReport, DocumentReference; Observation and Flag are searched once, for both).
 * The earlier results are what readWrittenResources would return: the resources of the searched written types that
 * carry the adapter's identifier. When a search they depend on failed, was skipped or stopped at the page limit,
 * they are left undefined and writePatientResults reads them on its own: never reconciled against an incomplete
 * picture (that would write a second Flag or report). The extra searches' resources stay out of the context: the
 * pipeline lists what it could not use, and the adapter's own reports are not that.
 */
import type { MedplumClient } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import { logger } from '../logging.ts';
import type { Capabilities } from './capabilities.ts';
import { adapterKey } from './ownership.ts';
import { contextPatientId, contextRequestUrls, readContextWith } from './read-patient-context.ts';
import { planWrites } from './write-plan.ts';
import { type WrittenSearch, writtenSearches } from './written-resources.ts';

export interface ContextAndEarlier {
  /** The patient's context, as readPatientContext returns it. */
  context: Resource[];
  /** The adapter's earlier results; undefined when the read could not give all of them (read them separately). */
  earlier?: Resource[];
}

type SearchAt = WrittenSearch & { url: string };

/**
 * @param client - The FHIR client.
 * @param patientId - The Patient id (`Patient/` prefix allowed).
 * @param caps - The server's capabilities (batch; the write plan decides which types are searched).
 * @returns The context and, when complete, the adapter's earlier results.
 * @throws PatientNotFoundError when the Patient is gone; FhirRequestError for failed requests (see isRetryable).
 */
export async function readContextAndEarlierResults(
  client: MedplumClient,
  patientId: string,
  caps: Pick<Capabilities, 'transaction' | 'batch' | 'types'>,
): Promise<ContextAndEarlier> {
  const id = contextPatientId(patientId);
  const searches = earlierResultSearches(id, caps);
  const contextUrls = new Set(contextRequestUrls(id));
  const extraUrls = searches.map((s) => s.url).filter((url) => !contextUrls.has(url));
  const read = await readContextWith(client, id, caps, extraUrls);
  return { context: read.resources, earlier: earlierResultsIn(read.complete, searches, id) };
}

/** The write plan's searches, their URLs written as the context read writes its own (so equal ones are shared). */
function earlierResultSearches(id: string, caps: Pick<Capabilities, 'transaction' | 'batch' | 'types'>): SearchAt[] {
  const ref = `Patient/${encodeURIComponent(id)}`;
  return writtenSearches(planWrites(caps)).map((s) => ({ ...s, url: `${s.type}?${s.param}=${ref}&_count=1000` }));
}

/** The adapter's resources among the searches' results; undefined when one of the searches is not complete. */
function earlierResultsIn(
  complete: ReadonlyMap<string, Resource[]>,
  searches: readonly SearchAt[],
  patientId: string,
): Resource[] | undefined {
  const found: Resource[] = [];
  for (const { type, url } of searches) {
    const resources = complete.get(url);
    if (!resources) {
      logger.info({ patientId, resourceType: type }, 'Earlier results not complete in the context read; read apart');
      return undefined;
    }
    found.push(...resources.filter((r) => r.resourceType === type && adapterKey(r) !== undefined));
  }
  return found;
}
