/** One signed Medplum-style rest-hook notification (an update of a tumour-size Observation), as the benchmarks send. */
import { medplumSignature } from '../src/sandbox/medplum-signature.ts';

export async function sendSignedObservationUpdate(
  fetchFn: typeof fetch,
  notificationsUrl: string,
  secret: string,
  n: { observationId: string; patientId: string; version: string | number },
): Promise<number> {
  const body = JSON.stringify({
    resourceType: 'Observation',
    id: n.observationId,
    meta: { versionId: `bench-${n.version}`, lastUpdated: new Date().toISOString() },
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '21889-1' }] },
    subject: { reference: `Patient/${n.patientId}` },
  });
  const res = await fetchFn(notificationsUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/fhir+json',
      'x-medplum-subscription': 'benchmark',
      'x-medplum-interaction': 'update',
      'x-signature': medplumSignature(body, secret),
    },
    body,
  });
  await res.arrayBuffer();
  return res.status;
}
