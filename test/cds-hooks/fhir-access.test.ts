/**
 * Where a patient-view call without a complete prefetch gets its data (CDS Hooks 2.0, "FHIR Resource Access"): with
 * `fhirAuthorization`, from the `fhirServer` named, with that token only; without, only from the server the adapter
 * is configured for, with its own credentials. The adapter's token never goes to a server a request names.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CLIENT_ISS,
  type ClientKey,
  clientJwt,
  clientKey,
  loadCase,
  patientViewRequest,
  post,
  REFUSED_TOKEN,
  type RecordingFhirServer,
  recordingFhirServer,
  SERVICE_PATH,
  type StartedAdapter,
  startAdapter,
} from './cds-harness.ts';

const ADAPTER_TOKEN = 'the-adapters-own-token';
let key: ClientKey;
let configured: RecordingFhirServer;
let other: RecordingFhirServer;
let adapter: StartedAdapter;

beforeAll(async () => {
  key = await clientKey();
  configured = await recordingFhirServer();
  other = await recordingFhirServer();
  await loadCase(configured.baseUrl, 'confirmed-progression');
  await loadCase(other.baseUrl, 'confirmed-progression');
  adapter = await startAdapter({
    FHIR_BASE_URL: configured.baseUrl,
    FHIR_AUTH: 'bearer',
    FHIR_TOKEN: ADAPTER_TOKEN,
    WEBHOOK_SECRET: 'cds-test-webhook-secret-0123456789',
    POLL_INTERVAL_SECONDS: '0',
    CDS_CLIENTS: JSON.stringify([{ iss: CLIENT_ISS, jwks: { keys: [key.publicJwk] } }]),
  });
});
afterAll(async () => {
  await adapter?.stop();
  await configured?.close();
  await other?.close();
});

async function call(extra: Record<string, unknown>) {
  configured.authorizations.length = 0;
  other.authorizations.length = 0;
  const url = `${adapter.service.url}${SERVICE_PATH}`;
  return post(url, patientViewRequest('confirmed-progression', extra), await clientJwt(key, url));
}
const authorization = (token: string) => ({
  access_token: token,
  token_type: 'Bearer',
  expires_in: 300,
  scope: 'patient/*.rs',
  subject: 'irecist-cds',
});
const CARD = [
  { indicator: 'critical', summary: 'Confirmed progression (iCPD) on 2026-04-20. Review the immunotherapy plan.' },
];

describe('patient-view without prefetch', () => {
  it('fhirServer = the configured server, no token given: read with the adapter credentials', async () => {
    const res = await call({ fhirServer: `${configured.baseUrl}/` });
    expect(res.body.cards).toMatchObject(CARD);
    expect(new Set(configured.authorizations)).toEqual(new Set([`Bearer ${ADAPTER_TOKEN}`]));
  });

  it('another fhirServer, no token given: 412, and that server is never called', async () => {
    const res = await call({ fhirServer: other.baseUrl });
    expect(res.status).toBe(412);
    expect(other.authorizations).toEqual([]);
    expect(configured.authorizations).toEqual([]);
  });

  it('another fhirServer with fhirAuthorization: read there with that token only', async () => {
    const res = await call({ fhirServer: other.baseUrl, fhirAuthorization: authorization('token-from-the-ehr') });
    expect(res.body.cards).toMatchObject(CARD);
    expect(other.authorizations.length).toBeGreaterThan(0);
    expect(new Set(other.authorizations)).toEqual(new Set(['Bearer token-from-the-ehr']));
    expect(configured.authorizations).toEqual([]);
  });

  it('the configured server with fhirAuthorization: the request token, not the adapter own', async () => {
    const res = await call({ fhirServer: configured.baseUrl, fhirAuthorization: authorization('token-from-the-ehr') });
    expect(res.body.cards).toMatchObject(CARD);
    expect(new Set(configured.authorizations)).toEqual(new Set(['Bearer token-from-the-ehr']));
  });

  it.each([
    [
      'a token the server refuses',
      () => ({ fhirServer: other.baseUrl, fhirAuthorization: authorization(REFUSED_TOKEN) }),
      'The FHIR server could not be read',
    ],
    [
      'a token to be sent over plain http to a remote host',
      () => ({ fhirServer: 'http://fhir.example.org/r4', fhirAuthorization: authorization('token-from-the-ehr') }),
      'A FHIR access token is sent only over https',
    ],
  ])('%s: 412 with an OperationOutcome', async (_label, extra, text) => {
    const res = await call(extra());
    expect(res.status).toBe(412);
    expect(res.body).toMatchObject({
      resourceType: 'OperationOutcome',
      issue: [{ code: 'processing', details: { text } }],
    });
  });

  it('refuses fhirAuthorization without fhirServer (400)', async () => {
    const res = await call({ fhirAuthorization: authorization('token-from-the-ehr') });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ issue: [{ expression: ['fhirServer'] }] });
  });

  it('counts the calls by outcome in /metrics', async () => {
    const text = await (await fetch(`${adapter.service.url}/metrics`)).text();
    for (const outcome of ['cards', 'precondition-failed', 'invalid']) {
      expect(text).toMatch(new RegExp(`^irecist_cds_hooks_requests_total\\{outcome="${outcome}"\\} [1-9]`, 'm'));
    }
  });
});
