/**
 * The patient's resources for one patient-view call: the prefetch when it is complete; otherwise the service reads
 * them itself, with the same reads as the worker (readPatientContext):
 * - with `fhirAuthorization`: from the `fhirServer` the request names, with the token the request carries;
 * - without: only when `fhirServer` is the server the adapter is configured for, with the adapter's own client.
 * The adapter's credentials never go to a server a request names. Anything else is 412 Precondition Failed.
 * https://cds-hooks.hl7.org/2.0/#fhir-resource-access
 */
import type { MedplumClient } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import { isHttpsOrLoopback } from '../config/cds-clients.ts';
import type { Capabilities } from '../fhir/capabilities.ts';
import { createFhirClient, type FetchFn } from '../fhir/client-factory.ts';
import { FhirRequestError } from '../fhir/http-error.ts';
import { isPatientNotFound, readPatientContext } from '../fhir/read-patient-context.ts';
import { OutcomeError, outcome } from '../fhir-model/outcomes.ts';
import { prefetchResources } from './prefetch-resources.ts';

export interface HookFhirAccess {
  /** The adapter's own client, for its configured server only. */
  client: MedplumClient;
  /** The configured server's base URL (FHIR_BASE_URL, or the sandbox's). */
  fhirBaseUrl: string;
  capabilities: () => Promise<Capabilities>;
  timeoutMs: number;
  /** The fetch used for reads with a request's token (tests inject faults). */
  fetch?: FetchFn;
}

export interface HookRequestData {
  patientId: string;
  fhirServer?: string;
  fhirAuthorization?: { access_token: string };
  prefetch?: Record<string, unknown>;
}

/** An EHR waits for its cards (the specification asks for answers in about 500 ms): a stalled server fails fast. */
const MAX_READ_MS = 10_000;

const normalise = (url: string): string => url.replace(/\/+$/, '');

const preconditionFailed = (text: string, expression?: string[], diagnostics?: string): OutcomeError =>
  new OutcomeError(outcome('processing', text, { expression, diagnostics }), 412);

async function read(client: MedplumClient, patientId: string, caps: Pick<Capabilities, 'batch'>) {
  try {
    return await readPatientContext(client, patientId, caps);
  } catch (err) {
    if (isPatientNotFound(err)) return undefined;
    if (err instanceof FhirRequestError) {
      throw preconditionFailed('The FHIR server could not be read', undefined, `status ${err.status}`);
    }
    throw err;
  }
}

/**
 * The resources to assess for a patient-view call.
 * @param request - The parts of the hook request that say where the data is.
 * @param access - The adapter's own FHIR access (used only for its own server).
 * @returns The resources, or undefined when the patient does not exist there (no card).
 * @throws OutcomeError 412 when the data can be neither taken from the prefetch nor read; 400 for a
 *   prefetch that does not match its template.
 */
export async function hookResources(request: HookRequestData, access: HookFhirAccess): Promise<Resource[] | undefined> {
  const supplied = prefetchResources(request.prefetch, request.patientId);
  if (supplied.noPatient) return undefined;
  if (supplied.missing.length === 0) return supplied.resources;
  const missing = supplied.missing.map((key) => `prefetch.${key}`);

  if (request.fhirAuthorization) {
    const baseUrl = normalise(request.fhirServer as string);
    if (!isHttpsOrLoopback(baseUrl))
      throw preconditionFailed('A FHIR access token is sent only over https', ['fhirServer']);
    const client = createFhirClient(
      {
        port: 0,
        fhir: {
          baseUrl,
          timeoutMs: Math.min(access.timeoutMs, MAX_READ_MS),
          auth: { mode: 'bearer', token: request.fhirAuthorization.access_token },
        },
      },
      { baseUrl, ...(access.fetch ? { fetch: access.fetch } : {}) },
    );
    return read(client, request.patientId, { batch: false });
  }
  if (request.fhirServer && normalise(request.fhirServer) === normalise(access.fhirBaseUrl)) {
    return read(access.client, request.patientId, await access.capabilities());
  }
  throw preconditionFailed(
    'The prefetch is incomplete and no FHIR access was given (fhirServer with fhirAuthorization)',
    missing,
  );
}
