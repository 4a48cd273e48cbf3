/**
 * One batch of GETs in one round trip (https://hl7.org/fhir/R4/http.html#transaction): the answer's entries, one per
 * request and in its order. A reply that is not a Bundle of as many entries is the server's fault (502, final).
 */
import type { MedplumClient } from '@medplum/core';
import type { Bundle, BundleEntry } from '@medplum/fhirtypes';
import { outcome } from '../fhir-model/outcomes.ts';
import { FhirRequestError } from './http-error.ts';

export async function getInBatch(client: MedplumClient, base: string, urls: readonly string[]): Promise<BundleEntry[]> {
  const request: Bundle = {
    resourceType: 'Bundle',
    type: 'batch',
    entry: urls.map((url) => ({ request: { method: 'GET', url } })),
  };
  const response = await client.post<Bundle>(base, request, 'application/fhir+json');
  const entries = response?.entry ?? [];
  if (response?.resourceType !== 'Bundle' || entries.length !== urls.length) {
    throw new FhirRequestError(outcome('processing', 'FHIR server batch response malformed'), 502, {
      retryable: false,
    });
  }
  return entries;
}
