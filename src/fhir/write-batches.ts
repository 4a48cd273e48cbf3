/**
 * Writes entries as batches where the server lists batch but not transaction: a batch cannot refer from one entry to
 * another, so the entries go in layers, each a batch of the entries whose references are all resolved (the
 * Observations, then the reports that name them, then the Flag that names a report, then the Provenance), the ids the
 * server assigned put in place of the `urn:uuid:` fullUrls before the next layer. Every entry is idempotent (found
 * by identifier first, conditional where offered), so a write that fails half-way converges on retry.
 * https://hl7.org/fhir/R4/http.html#transaction (batch)
 */
import type { MedplumClient } from '@medplum/core';
import type { Bundle, BundleEntry, OperationOutcome } from '@medplum/fhirtypes';
import { outcome } from '../fhir-model/outcomes.ts';
import { assignedReference, findUnresolved, resolveReferences } from './entry-references.ts';
import { errorForStatus, FhirRequestError } from './http-error.ts';

/** What the server answered for one entry. */
export interface EntryAnswer {
  request: BundleEntry;
  status: number;
  etag?: string;
  outcome?: OperationOutcome;
}

/**
 * @param client - The FHIR client.
 * @param base - The FHIR base URL.
 * @param entries - The entries, in order (a later entry may refer to an earlier one's fullUrl).
 * @returns One answer per entry, in the order written.
 * @throws FhirRequestError for a refused entry (the rest of its layer may be written; a retry converges).
 */
export async function writeInBatches(
  client: MedplumClient,
  base: string,
  entries: readonly BundleEntry[],
): Promise<EntryAnswer[]> {
  const assigned = new Map<string, string>();
  const answers: EntryAnswer[] = [];
  let pending = [...entries];
  while (pending.length > 0) {
    const resolved = pending.map((e) => ({ original: e, entry: resolveReferences(e, assigned) }));
    const layer = resolved.filter(({ original, entry }) => !findUnresolved(entry, original.fullUrl));
    if (layer.length === 0) {
      throw new FhirRequestError(outcome('processing', 'Entries refer to each other in a cycle'), 422, {
        retryable: false,
      });
    }
    const batch: Bundle = {
      resourceType: 'Bundle',
      type: 'batch',
      entry: layer.map(({ entry }) => ({ resource: entry.resource, request: entry.request })),
    };
    const response = await client.post<Bundle>(base, batch, 'application/fhir+json');
    const replies = response?.entry ?? [];
    if (response?.resourceType !== 'Bundle' || replies.length !== layer.length) {
      throw new FhirRequestError(outcome('processing', 'FHIR server batch response malformed'), 502, {
        retryable: false,
      });
    }
    for (const [index, reply] of replies.entries()) {
      const { original, entry } = layer[index]!;
      const status = Number.parseInt(reply.response?.status ?? '', 10) || 200;
      if (status >= 400) throw errorForStatus(status, { serverOutcome: reply.response?.outcome });
      answers.push({ request: original, status, etag: reply.response?.etag, outcome: reply.response?.outcome });
      if (original.fullUrl?.startsWith('urn:uuid:')) {
        const ref = assignedReference(reply.resource, reply.response?.location, entry);
        if (ref) assigned.set(original.fullUrl, ref);
      }
    }
    const sent = new Set(layer.map(({ original }) => original));
    pending = pending.filter((e) => !sent.has(e));
  }
  return answers;
}
