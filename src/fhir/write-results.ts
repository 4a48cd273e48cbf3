/**
 * Writes the rendered results: one transaction Bundle in one request when the server supports transactions; with
 * batch but no transaction, batches in reference order (write-batches.ts); otherwise its entries one at a time, in order, replacing each `urn:uuid:` fullUrl with the `Type/id` the
 * server assigned wherever later entries refer to it. Conditional headers (If-None-Exist, If-Match,
 * If-None-Match, If-Modified-Since) and conditional URLs are kept. Entries are idempotent (deterministic
 * identifiers, conditional create/update), so a retry after a partial sequential write is safe.
 * Errors: see isRetryable — 4xx other than 409/412/429 is final, the rest is retried by the queue
 * (Retry-After exposed as `retryAfterMs`).
 * https://hl7.org/fhir/R4/http.html#transaction
 */
import type { MedplumClient } from '@medplum/core';
import type { Bundle, BundleEntry, OperationOutcome, Resource } from '@medplum/fhirtypes';
import { outcome } from '../fhir-model/outcomes.ts';
import { logger } from '../logging.ts';
import type { Capabilities } from './capabilities.ts';
import { fhirBaseUrlOf } from './client-factory.ts';
import { assignedReference, findUnresolved, resolveReferences } from './entry-references.ts';
import { errorForStatus, errorFromResponse, FhirRequestError } from './http-error.ts';
import { writeInBatches } from './write-batches.ts';

export { FhirRequestError, isRetryable, retryAfterMs } from './http-error.ts';

export interface WriteResult {
  /** Entries that created, updated or deleted something. */
  written: number;
  /** Entries the server found already in place (conditional create matched, update without change). */
  unchanged: number;
}

/**
 * Medplum's transaction limits (@medplum/fhir-router BatchProcessor): at most 50 updates, and at most 8 entries
 * when any entry is conditional (it then needs strict isolation). A larger result is written as a sequence:
 * every entry is conditional by identifier, so a sequence interrupted half-way converges on retry.
 */
const MEDPLUM_MAX_UPDATES = 50;
const MEDPLUM_MAX_STRICT_ENTRIES = 8;

const isConditional = (e: BundleEntry): boolean =>
  Boolean(e.request?.ifNoneExist) || (e.request?.method !== 'POST' && String(e.request?.url ?? '').includes('?'));

/** Whether the server will take this Bundle as one transaction. */
export function fitsOneTransaction(
  entries: readonly BundleEntry[],
  caps: Pick<Capabilities, 'transaction' | 'software'>,
): boolean {
  if (!caps.transaction) return false;
  if (caps.software !== 'medplum') return true;
  const updates = entries.filter((e) => e.request?.method === 'PUT').length;
  if (updates > MEDPLUM_MAX_UPDATES) return false;
  return !(entries.some(isConditional) && entries.length > MEDPLUM_MAX_STRICT_ENTRIES);
}

/** HAPI's storage response codes for writes that changed nothing. */
const HAPI_NO_CHANGE = new Set(['SUCCESSFUL_UPDATE_NO_CHANGE', 'SUCCESSFUL_CREATE_WITH_CONDITIONAL_MATCH']);

/**
 * Writes a transaction Bundle.
 * @param client - The FHIR client (from createFhirClient).
 * @param transaction - The Bundle (type transaction) to write.
 * @param caps - The server's capabilities: transaction support and Medplum's limits decide one request; batch without
 *   transaction, batches in reference order (write-batches.ts); otherwise one request per entry.
 * @returns How many entries wrote something and how many were already in place.
 * @throws FhirRequestError (see isRetryable, retryAfterMs).
 */
export async function writeResults(
  client: MedplumClient,
  transaction: Bundle,
  caps: Pick<Capabilities, 'transaction' | 'software'> & { batch?: boolean },
): Promise<WriteResult> {
  const entries = transaction.entry ?? [];
  if (entries.length === 0) return { written: 0, unchanged: 0 };
  const base = fhirBaseUrlOf(client);
  const mode = fitsOneTransaction(entries, caps)
    ? 'transaction'
    : caps.batch && !caps.transaction
      ? 'batch'
      : 'sequence';
  let result: WriteResult;
  if (mode === 'transaction') result = await writeAsTransaction(client, base, transaction);
  else if (mode === 'sequence') result = await writeInSequence(client, base, entries);
  else {
    result = { written: 0, unchanged: 0 };
    for (const a of await writeInBatches(client, base, entries)) count(result, a.request, a.status, a.etag, a.outcome);
  }
  logger.info({ entries: entries.length, ...result, mode }, 'FHIR results written');
  return result;
}

async function writeAsTransaction(client: MedplumClient, base: string, transaction: Bundle): Promise<WriteResult> {
  const bundle: Bundle = { ...transaction, type: 'transaction' };
  const response = await client.post<Bundle>(base, bundle, 'application/fhir+json');
  const requests = bundle.entry ?? [];
  const responses = response?.entry ?? [];
  if (response?.resourceType !== 'Bundle' || responses.length !== requests.length) {
    throw new FhirRequestError(outcome('processing', 'FHIR server transaction response malformed'), 502, {
      retryable: false,
    });
  }
  const result: WriteResult = { written: 0, unchanged: 0 };
  for (const [index, entry] of responses.entries()) {
    const status = statusNumber(entry.response?.status);
    if (status >= 400) throw errorForStatus(status, { serverOutcome: entry.response?.outcome });
    count(result, requests[index] as BundleEntry, status, entry.response?.etag, entry.response?.outcome);
  }
  return result;
}

async function writeInSequence(client: MedplumClient, base: string, entries: BundleEntry[]): Promise<WriteResult> {
  const assigned = new Map<string, string>();
  const result: WriteResult = { written: 0, unchanged: 0 };
  for (const [index, original] of entries.entries()) {
    const entry = resolveReferences(original, assigned);
    const expression = [`Bundle.entry[${index}]`];
    const request = entry.request;
    if (!request?.method || !request.url) {
      throw new FhirRequestError(outcome('invalid', 'Transaction entry without request', { expression }), 422, {
        retryable: false,
      });
    }
    const unresolved = findUnresolved(entry, original.fullUrl);
    if (unresolved) {
      throw new FhirRequestError(
        outcome('processing', 'Transaction entry refers to a later entry', { expression }),
        422,
        {
          retryable: false,
        },
      );
    }

    const headers: Record<string, string> = {
      Accept: 'application/fhir+json',
      Prefer: 'return=representation',
    };
    if (request.ifNoneExist) headers['If-None-Exist'] = request.ifNoneExist;
    if (request.ifMatch) headers['If-Match'] = request.ifMatch;
    if (request.ifNoneMatch) headers['If-None-Match'] = request.ifNoneMatch;
    if (request.ifModifiedSince) headers['If-Modified-Since'] = request.ifModifiedSince;
    const init: RequestInit = { method: request.method, headers };
    if (entry.resource && (request.method === 'POST' || request.method === 'PUT' || request.method === 'PATCH')) {
      headers['Content-Type'] = 'application/fhir+json';
      init.body = JSON.stringify(entry.resource);
    }

    const url = URL.canParse(request.url) ? request.url : `${base}/${request.url.replace(/^\/+/, '')}`;
    const response = await client.wrappedFetch(url, init);
    if (response.status >= 400) throw await errorFromResponse(response);

    const body = await readJson(response);
    const etag = response.headers.get('etag') ?? undefined;
    const location = response.headers.get('location') ?? response.headers.get('content-location') ?? undefined;
    const serverOutcome = body?.resourceType === 'OperationOutcome' ? (body as OperationOutcome) : undefined;
    count(result, original, response.status, etag ?? versionEtag(body), serverOutcome);

    if (original.fullUrl?.startsWith('urn:uuid:')) {
      const ref = assignedReference(body, location, entry);
      if (ref) assigned.set(original.fullUrl, ref);
    }
  }
  return result;
}

function statusNumber(status: string | undefined): number {
  const n = Number.parseInt(status ?? '', 10);
  return Number.isFinite(n) ? n : 200;
}

function count(
  result: WriteResult,
  request: BundleEntry,
  status: number,
  etag: string | undefined,
  serverOutcome: OperationOutcome | undefined,
): void {
  if (isUnchanged(request, status, etag, serverOutcome)) result.unchanged++;
  else result.written++;
}

function isUnchanged(
  request: BundleEntry,
  status: number,
  etag: string | undefined,
  serverOutcome: OperationOutcome | undefined,
): boolean {
  if (status === 304) return true;
  const method = request.request?.method;
  if (method === 'POST' && request.request?.ifNoneExist && status === 200) return true;
  if (
    method === 'PUT' &&
    request.request?.ifMatch &&
    etag &&
    versionOfEtag(etag) === versionOfEtag(request.request.ifMatch)
  ) {
    return true;
  }
  return (serverOutcome?.issue ?? []).some((issue) =>
    (issue.details?.coding ?? []).some((c) => c.code !== undefined && HAPI_NO_CHANGE.has(c.code)),
  );
}

function versionOfEtag(etag: string): string {
  return etag.replace(/^W\//, '').replace(/"/g, '');
}

function versionEtag(body: Resource | undefined): string | undefined {
  const version = body?.meta?.versionId;
  return version ? `W/"${version}"` : undefined;
}

async function readJson(response: Response): Promise<Resource | undefined> {
  if (response.status === 204 || response.status === 304) return undefined;
  try {
    const text = await response.text();
    return text ? (JSON.parse(text) as Resource) : undefined;
  } catch {
    return undefined;
  }
}
