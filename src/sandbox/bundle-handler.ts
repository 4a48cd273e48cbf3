/**
 * `POST [base]` with a batch or transaction Bundle.
 *
 * Entries are processed by @medplum/fhir-router's batch processor (ordering, urn:uuid resolution,
 * If-None-Exist, conditional update/delete URLs, each entry routed through FhirRouter), but in its batch mode:
 * its transaction mode refuses transactions with more than 50 updates, or more than 8 entries once one is
 * conditional (limits of Medplum's PostgreSQL server, pointless here). Atomicity is ours instead: the caller
 * runs this inside a repository savepoint, and if any entry of a transaction failed, `processBundle` returns
 * that entry's OperationOutcome so the caller rolls every write back (all-or-nothing).
 * https://hl7.org/fhir/R4/http.html#transaction
 */
import { getReferenceString, allOk as medplumAllOk, normalizeOperationOutcome } from '@medplum/core';
import type { FhirRequest, FhirResponse, FhirRouter } from '@medplum/fhir-router';
import { processBatch } from '@medplum/fhir-router';
import type { Bundle, OperationOutcome, Resource } from '@medplum/fhirtypes';
import { outcome } from '../fhir-model/outcomes.ts';
import type { SandboxRepository, WriteEvent } from './memory-store.ts';

/** The outcome put on a batch/transaction response entry whose write changed nothing. */
export function unchangedOutcome(): OperationOutcome {
  return outcome('informational', 'Unchanged', {
    severity: 'information',
    diagnostics: 'The content equals the current version; no new version was created.',
  });
}

/**
 * Processes a batch/transaction Bundle. Returns `[allOk, response Bundle]`, or for a failed transaction
 * `[the failing entry's outcome]` (not OK, so the caller rolls back).
 */
export async function processBundle(
  req: FhirRequest,
  repo: SandboxRepository,
  router: FhirRouter,
): Promise<FhirResponse> {
  const bundle = req.body as Resource | undefined;
  if (bundle?.resourceType !== 'Bundle') {
    return [outcome('invalid', 'Request body must be a batch or transaction Bundle')];
  }
  if (bundle.type !== 'batch' && bundle.type !== 'transaction') {
    return [
      outcome('invalid', 'Bundle type must be batch or transaction', {
        expression: ['Bundle.type'],
        diagnostics: bundle.type ? `Bundle.type is ${bundle.type}` : undefined,
      }),
    ];
  }
  let result: Bundle;
  try {
    result = await processBatch({ ...req, config: { ...req.config, transactions: false } }, repo, router, bundle);
  } catch (err) {
    return [normalizeOperationOutcome(err)];
  }
  if (bundle.type === 'transaction') {
    const entries = result.entry ?? [];
    for (let i = 0; i < entries.length; i++) {
      const response = entries[i]?.response;
      const status = Number.parseInt(response?.status ?? '', 10);
      if (!(status >= 200 && status < 300)) {
        return [transactionFailure(response?.outcome as OperationOutcome | undefined, i)];
      }
    }
  }
  return [medplumAllOk, result];
}

/**
 * Completes a batch/transaction-response after commit: fullUrl, version-specific location, etag and
 * lastModified on every entry with a resource, and an "Unchanged" outcome on writes that changed nothing.
 */
export function decorateBundleResponse(bundle: Bundle, events: readonly WriteEvent[], baseUrl: string): void {
  const changed = new Set<string>();
  const unchanged = new Set<string>();
  for (const event of events) {
    const ref = `${event.resource.resourceType}/${event.resource.id}`;
    (event.interaction === 'unchanged' ? unchanged : changed).add(ref);
  }
  bundle.entry = bundle.entry?.map((entry) => {
    const resource = entry.resource;
    const response = entry.response;
    if (!resource?.id || !response) return entry;
    const ref = getReferenceString(resource) as string;
    const versionId = resource.meta?.versionId;
    if (versionId) {
      response.location = `${ref}/_history/${versionId}`;
      response.etag = `W/"${versionId}"`;
      if (resource.meta?.lastUpdated) response.lastModified = resource.meta.lastUpdated;
    }
    if (response.status === '200' && unchanged.has(ref) && !changed.has(ref)) {
      response.outcome = unchangedOutcome();
    }
    return { fullUrl: `${baseUrl}/${ref}`, ...entry };
  });
}

function transactionFailure(entryOutcome: OperationOutcome | undefined, index: number): OperationOutcome {
  const failure = entryOutcome ?? outcome('exception', 'Transaction entry failed');
  // Keep Medplum's outcome id (it carries the status) and point at the entry that failed.
  return {
    ...failure,
    issue: (failure.issue ?? []).map((issue) => ({
      ...issue,
      expression: issue.expression?.length ? issue.expression : [`Bundle.entry[${index}]`],
    })),
  };
}
