/**
 * Reads everything one assessment needs about a patient, in one batch request when the server has batch:
 * the Patient, its Observations, ImagingStudies, MedicationAdministrations (with their Medications),
 * BodyStructures, and Flags (the adapter's own earlier Flags are superseded, clinician-inactivated ones respected).
 * Searches with more pages are followed through their `next` links. Without batch, the same requests are
 * made one by one. Resources are returned deduplicated by type/id, the Patient first. `readContextWith` carries
 * other searches in the same batch (the worker's: the write plan's searches for the adapter's earlier results,
 * read-context-and-earlier.ts) and returns each complete search apart, so one round trip reads both.
 * https://hl7.org/fhir/R4/http.html#transaction (batch), https://hl7.org/fhir/R4/search.html#paging
 */
import type { MedplumClient } from '@medplum/core';
import type { Bundle, BundleEntry, OperationOutcome, Resource } from '@medplum/fhirtypes';
import { isFhirId } from '../fhir-model/ids.ts';
import { badRequest, OutcomeError, outcome } from '../fhir-model/outcomes.ts';
import { logger } from '../logging.ts';
import type { Capabilities } from './capabilities.ts';
import { fhirBaseUrlOf } from './client-factory.ts';
import { readMissingFocus } from './focus-body-structures.ts';
import { getInBatch } from './get-batch.ts';
import { errorForStatus, FhirRequestError } from './http-error.ts';

/** The Patient does not exist (404) or was deleted (410): the worker has nothing to do. */
export class PatientNotFoundError extends OutcomeError {
  readonly patientId: string;

  constructor(patientId: string) {
    super(outcome('not-found', 'Patient not found', { diagnostics: `Patient/${patientId}` }), 404);
    this.name = 'PatientNotFoundError';
    this.patientId = patientId;
  }
}

/**
 * @param err - Anything thrown.
 * @returns True when the error means the patient does not exist (nothing to assess).
 */
export function isPatientNotFound(err: unknown): err is PatientNotFoundError {
  return err instanceof PatientNotFoundError;
}

/** Upper bound on pages followed per search, against servers whose `next` links never end. */
export const MAX_PAGES_PER_SEARCH = 100;

/**
 * Searches whose failure with a 4xx is tolerated (resource type often unsupported: Oracle Health lists neither
 * BodyStructure nor Flag); the rest are required.
 */
const OPTIONAL_SEARCHES = new Set(['BodyStructure', 'Flag']);

/**
 * The relative request URLs of a patient's context read, in batch order (the Patient read first).
 * @param patientId - The Patient id.
 * @returns The URLs.
 */
export function contextRequestUrls(patientId: string): string[] {
  const ref = `Patient/${encodeURIComponent(patientId)}`;
  return [
    ref,
    `Observation?subject=${ref}&_count=1000`,
    `ImagingStudy?subject=${ref}&_count=1000`,
    `MedicationAdministration?subject=${ref}&_include=MedicationAdministration:medication&_count=1000`,
    `BodyStructure?patient=${ref}&_count=1000`,
    `Flag?subject=${ref}&_count=1000`,
  ];
}

/** Stands in for the patient id while the URLs are built (survives encodeURIComponent unchanged). */
const PLACEHOLDER = 'CONTEXTPATIENTIDTOKEN';

/**
 * The context reads with a token in place of the patient id (CDS Hooks prefetch templates, the SMART app's reads),
 * so every reader of a patient's context asks for exactly what the worker reads.
 * @param token - What stands for the id, e.g. `{{context.patientId}}`.
 * @returns The relative request URLs, the Patient read first.
 */
export function contextRequestTemplates(token: string): string[] {
  return contextRequestUrls(PLACEHOLDER).map((url) => url.replaceAll(PLACEHOLDER, token));
}

const STATUSES_MEANING_NO_BATCH = new Set([400, 403, 404, 405, 415, 422, 501]);

/**
 * The Patient id of a context read, checked.
 * @param patientId - The Patient id (`Patient/` prefix allowed).
 * @returns The bare id.
 * @throws OutcomeError 400 when it is not a FHIR id.
 */
export function contextPatientId(patientId: string): string {
  const id = patientId.startsWith('Patient/') ? patientId.slice('Patient/'.length) : patientId;
  if (!isFhirId(id)) throw badRequest('Invalid Patient id', ['patientId']);
  return id;
}

/**
 * Reads the patient's context.
 * @param client - The FHIR client (from createFhirClient).
 * @param patientId - The Patient id (`Patient/` prefix allowed).
 * @param caps - The server's capabilities (batch decides one request or several).
 * @returns The resources, deduplicated by type/id, the Patient first.
 * @throws PatientNotFoundError when the Patient is gone; FhirRequestError for failed requests (see isRetryable).
 */
export async function readPatientContext(
  client: MedplumClient,
  patientId: string,
  caps: Pick<Capabilities, 'batch'>,
): Promise<Resource[]> {
  return (await readContextWith(client, patientId, caps)).resources;
}

/** A context read with other searches made beside it (read-context-and-earlier.ts). */
export interface ContextRead {
  /** The context: deduplicated by type/id, the Patient first; the extra searches' resources are not in it. */
  resources: Resource[];
  /**
   * Every search's resources (all its pages) by request URL, the extra ones included. A search that failed and was
   * skipped, or whose paging stopped at the page limit, is absent: what it found is not the whole answer.
   */
  complete: Map<string, Resource[]>;
}

/**
 * Reads the patient's context and, in the same batch (or side by side without batch), extra searches. An extra
 * search failing with a 4xx other than 429 is skipped (absent from `complete`), as the optional context searches are.
 * @param client - The FHIR client.
 * @param patientId - The Patient id (`Patient/` prefix allowed).
 * @param caps - The server's capabilities (batch decides one request or several).
 * @param extraUrls - Relative search URLs read beside the context, not part of it.
 * @returns The context and every complete search.
 * @throws PatientNotFoundError when the Patient is gone; FhirRequestError for failed requests (see isRetryable).
 */
export async function readContextWith(
  client: MedplumClient,
  patientId: string,
  caps: Pick<Capabilities, 'batch'>,
  extraUrls: readonly string[] = [],
): Promise<ContextRead> {
  const id = contextPatientId(patientId);
  const base = fhirBaseUrlOf(client);
  const contextUrls = contextRequestUrls(id);
  const urls = [...contextUrls, ...extraUrls];
  const { results, mode } = await readRequests(client, base, urls, caps);

  const resources: Resource[] = [];
  const complete = new Map<string, Resource[]>();
  let pages = 0;
  for (const [index, result] of results.entries()) {
    const url = urls[index] as string;
    const found = checkedResult(id, url, result, { patientRead: index === 0, extra: index >= contextUrls.length });
    if (!found) continue;
    if (index === 0) {
      resources.push(found);
      continue;
    }
    const searched = await collectPages(client, base, found as Bundle);
    pages += searched.pages;
    if (searched.complete) complete.set(url, searched.resources);
    if (index < contextUrls.length) resources.push(...searched.resources);
  }

  const deduped = dedupe(resources);
  deduped.push(...(await readMissingFocus(client, deduped)));
  logger.debug(
    { patientId: id, mode, resources: deduped.length, pages, extra: extraUrls.length },
    'Patient context read',
  );
  return { resources: deduped, complete };
}

/** The requests answered: one batch where the server has batch and takes it, else one request each, side by side. */
async function readRequests(
  client: MedplumClient,
  base: string,
  urls: string[],
  caps: Pick<Capabilities, 'batch'>,
): Promise<{ results: Result[]; mode: 'batch' | 'individual' }> {
  if (caps.batch) {
    try {
      return { results: await readAsBatch(client, base, urls), mode: 'batch' };
    } catch (err) {
      if (!(err instanceof FhirRequestError && STATUSES_MEANING_NO_BATCH.has(err.status))) throw err;
      logger.info({ status: err.status }, 'FHIR server refused the batch; reading one request at a time');
    }
  }
  return { results: await Promise.all(urls.map((url) => readOne(client, base, url))), mode: 'individual' };
}

/**
 * One answer checked: the resource (the Patient, or a search's first page), or undefined for a failed search that is
 * tolerated (an optional or extra search refused with a 4xx other than 429).
 * @throws PatientNotFoundError for a Patient read answered 404 or 410; FhirRequestError for any other failure.
 */
function checkedResult(
  id: string,
  url: string,
  result: Result,
  request: { patientRead: boolean; extra: boolean },
): Resource | undefined {
  if (result.status >= 400 || !result.resource) {
    if (request.patientRead && (result.status === 404 || result.status === 410)) throw new PatientNotFoundError(id);
    const type = url.split('?')[0] as string;
    const tolerated = request.extra || OPTIONAL_SEARCHES.has(type);
    if (!request.patientRead && result.status < 500 && result.status !== 429 && tolerated) {
      logger.warn({ patientId: id, resourceType: type, status: result.status }, 'Context search failed; skipped');
      return undefined;
    }
    throw errorForStatus(result.status >= 400 ? result.status : 502, { serverOutcome: result.outcome });
  }
  if (!request.patientRead && result.resource.resourceType !== 'Bundle') throw errorForStatus(502);
  return result.resource;
}

interface Result {
  status: number;
  resource?: Resource;
  outcome?: OperationOutcome;
}

function statusOf(entry: BundleEntry | undefined): number {
  const status = Number.parseInt(entry?.response?.status ?? '', 10);
  return Number.isFinite(status) ? status : 0;
}

async function readAsBatch(client: MedplumClient, base: string, urls: string[]): Promise<Result[]> {
  const entries = await getInBatch(client, base, urls);
  return entries.map((entry) => {
    const resource = entry.resource;
    const status = statusOf(entry) || (resource ? 200 : 0);
    const oo = entry.response?.outcome ?? (resource?.resourceType === 'OperationOutcome' ? resource : undefined);
    return status >= 400 || resource?.resourceType === 'OperationOutcome'
      ? { status: status >= 400 ? status : 502, outcome: oo }
      : { status, resource };
  });
}

async function readOne(client: MedplumClient, base: string, url: string): Promise<Result> {
  try {
    const resource = await client.get<Resource>(`${base}/${url}`);
    return { status: 200, resource };
  } catch (err) {
    if (err instanceof FhirRequestError && err.status < 500 && err.status !== 429 && !err.retryable) {
      return { status: err.status, outcome: err.serverOutcome };
    }
    throw err;
  }
}

function nextLink(bundle: Bundle, base: string): string | undefined {
  const next = bundle.link?.find((l) => l.relation === 'next')?.url;
  if (!next) return undefined;
  return URL.canParse(next) ? next : new URL(next, `${base}/`).toString();
}

async function collectPages(
  client: MedplumClient,
  base: string,
  first: Bundle,
): Promise<{ resources: Resource[]; pages: number; complete: boolean }> {
  const resources: Resource[] = [];
  const seen = new Set<string>();
  let bundle: Bundle | undefined = first;
  let pages = 0;
  while (bundle) {
    for (const entry of bundle.entry ?? []) {
      if (entry.resource && entry.resource.resourceType !== 'OperationOutcome' && entry.search?.mode !== 'outcome') {
        resources.push(entry.resource);
      }
    }
    const next = nextLink(bundle, base);
    if (!next || seen.has(next)) break;
    if (pages >= MAX_PAGES_PER_SEARCH) {
      logger.warn({ pages }, 'Search paging stopped at the page limit');
      return { resources, pages, complete: false };
    }
    seen.add(next);
    pages++;
    bundle = await client.get<Bundle>(next);
  }
  return { resources, pages, complete: true };
}

function versionOf(resource: Resource): number {
  const version = Number(resource.meta?.versionId);
  if (Number.isFinite(version)) return version;
  const updated = Date.parse(resource.meta?.lastUpdated ?? '');
  return Number.isFinite(updated) ? updated : 0;
}

function dedupe(resources: Resource[]): Resource[] {
  const byKey = new Map<string, Resource>();
  const anonymous: Resource[] = [];
  for (const resource of resources) {
    if (!resource.id) {
      anonymous.push(resource);
      continue;
    }
    const key = `${resource.resourceType}/${resource.id}`;
    const existing = byKey.get(key);
    if (!existing || versionOf(resource) > versionOf(existing)) byKey.set(key, resource);
  }
  return [...byKey.values(), ...anonymous];
}
