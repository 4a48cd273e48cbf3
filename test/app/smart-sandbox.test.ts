/**
 * The sandbox's SMART App Launch 2 endpoints over HTTP, as fhirclient uses them: discovery (.well-known and the
 * CapabilityStatement's security), the EHR launch redirect, authorize (test clinician, patient from the launch or
 * picked), the token exchange with PKCE S256, and the FHIR API refusing a token it did not issue. None of it exists
 * against a real FHIR server.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { CapabilityStatement } from '@medplum/fhirtypes';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeLaunch } from '../../src/sandbox/smart-authorization.ts';
import { loadCase, recordingFhirServer, type StartedAdapter, startAdapter } from '../cds-hooks/cds-harness.ts';

let adapter: StartedAdapter;
let url: string;
let fhir: string;
const APP = 'http://127.0.0.1:9/app/';

beforeAll(async () => {
  adapter = await startAdapter({});
  url = adapter.service.url;
  fhir = `${url}/fhir/R4`;
  await loadCase(fhir, 'pseudoprogression');
});
afterAll(async () => {
  await adapter?.stop();
});

function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

async function authorize(params: Record<string, string>): Promise<Response> {
  return fetch(`${url}/sandbox/smart/authorize?${new URLSearchParams(params)}`, { redirect: 'manual' });
}

function authorizeParams(challenge: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    response_type: 'code',
    client_id: 'irecist-adapter-app',
    redirect_uri: APP,
    scope: 'launch openid fhirUser patient/*.rs',
    state: 'state-1',
    aud: fhir,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    launch: encodeLaunch('pseudoprogression'),
    ...extra,
  };
}

async function token(code: string, verifier: string, extra: Record<string, string> = {}): Promise<Response> {
  return fetch(`${url}/sandbox/smart/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: APP,
      client_id: 'irecist-adapter-app',
      code_verifier: verifier,
      ...extra,
    }),
  });
}

async function codeFor(challenge: string, extra: Record<string, string> = {}): Promise<string> {
  const res = await authorize(authorizeParams(challenge, extra));
  expect(res.status).toBe(302);
  const location = new URL(res.headers.get('location') as string);
  expect(location.searchParams.get('state')).toBe('state-1');
  return location.searchParams.get('code') as string;
}

describe('discovery', () => {
  it('.well-known/smart-configuration names the endpoints, PKCE S256 and both launches', async () => {
    const config = (await (await fetch(`${fhir}/.well-known/smart-configuration`)).json()) as Record<string, unknown>;
    expect(config).toMatchObject({
      authorization_endpoint: `${url}/sandbox/smart/authorize`,
      token_endpoint: `${url}/sandbox/smart/token`,
      code_challenge_methods_supported: ['S256'],
    });
    expect(config.capabilities).toEqual(expect.arrayContaining(['launch-ehr', 'launch-standalone', 'client-public']));
  });

  it('/metadata carries the SMART security extension', async () => {
    const cs = (await (await fetch(`${fhir}/metadata`)).json()) as CapabilityStatement;
    const security = cs.rest?.[0]?.security;
    expect(security?.service?.[0]?.coding?.[0]?.code).toBe('SMART-on-FHIR');
    expect(security?.extension?.[0]).toEqual({
      url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris',
      extension: [
        { url: 'authorize', valueUri: `${url}/sandbox/smart/authorize` },
        { url: 'token', valueUri: `${url}/sandbox/smart/token` },
      ],
    });
  });
});

describe('EHR launch', () => {
  it('the launch button redirects to the app with iss and launch', async () => {
    const res = await fetch(`${url}/sandbox/smart/launch?patient=pseudoprogression`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe(
      `/app/launch?iss=${encodeURIComponent(fhir)}&launch=${encodeLaunch('pseudoprogression')}`,
    );
  });

  it('authorize + token give an access token with the patient; the token reads the FHIR API', async () => {
    const { verifier, challenge } = pkce();
    const res = await token(await codeFor(challenge), verifier);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, string>;
    expect(body).toMatchObject({
      token_type: 'Bearer',
      patient: 'pseudoprogression',
      scope: 'launch openid fhirUser patient/*.rs',
    });
    expect(decodeJwt(body.id_token as string)).toMatchObject({ sub: 'sandbox-clinician', aud: 'irecist-adapter-app' });
    const read = await fetch(`${fhir}/Patient/pseudoprogression`, {
      headers: { authorization: `Bearer ${body.access_token}` },
    });
    expect(read.status).toBe(200);
  });

  it.each([
    ['a wrong code_verifier', { code_verifier: 'x'.repeat(43) }],
    ['another redirect_uri', { redirect_uri: 'http://127.0.0.1:9/other/' }],
    ['another client_id', { client_id: 'someone-else' }],
  ])('refuses the exchange with %s (invalid_grant)', async (_label, extra) => {
    const { verifier, challenge } = pkce();
    const res = await token(await codeFor(challenge), verifier, extra);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: 'invalid_grant' });
  });

  it('a code works once', async () => {
    const { verifier, challenge } = pkce();
    const code = await codeFor(challenge);
    expect((await token(code, verifier)).status).toBe(200);
    expect((await token(code, verifier)).status).toBe(400);
  });

  it.each([
    ['a redirect_uri off this machine', { redirect_uri: 'https://evil.example.org/cb' }, ['redirect_uri']],
    ['no PKCE', { code_challenge_method: 'plain' }, ['code_challenge']],
    ['an aud that is not the sandbox', { aud: 'https://fhir.example.org/r4' }, ['aud']],
    ['a launch for an unknown patient', { launch: encodeLaunch('nobody') }, ['patient']],
  ])('authorize refuses %s (400, no redirect)', async (_label, extra, expression) => {
    const res = await authorize(authorizeParams(pkce().challenge, extra));
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
    expect(await res.json()).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ expression }] });
  });

  it('the FHIR API refuses a bearer token it did not issue (401), and stays open without one', async () => {
    const refused = await fetch(`${fhir}/Patient/pseudoprogression`, { headers: { authorization: 'Bearer made-up' } });
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'security' }] });
    expect((await fetch(`${fhir}/Patient/pseudoprogression`)).status).toBe(200);
  });
});

describe('standalone launch', () => {
  it('without a launch, authorize shows the patients to pick from; the pick gives a code with that patient', async () => {
    const { verifier, challenge } = pkce();
    const params = authorizeParams(challenge, { scope: 'launch/patient openid fhirUser patient/*.rs' });
    delete params.launch;
    const page = await authorize(params);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('Signed in as Test Clinician (sandbox)');
    const href = /href="([^"]*patient=pseudoprogression)"/
      .exec(html)?.[1]
      ?.replace(/&#(\d+);/g, (_m, code) => String.fromCharCode(Number(code)));
    expect(href).toBeDefined();
    const picked = await fetch(`${url}${href}`, { redirect: 'manual' });
    const code = new URL(picked.headers.get('location') as string).searchParams.get('code') as string;
    expect(((await (await token(code, verifier)).json()) as { patient: string }).patient).toBe('pseudoprogression');
  });
});

describe('against a real FHIR server', () => {
  it('has no SMART endpoints (they exist only with the sandbox)', async () => {
    const server = await recordingFhirServer();
    const real = await startAdapter({
      FHIR_BASE_URL: server.baseUrl,
      WEBHOOK_SECRET: 'smart-test-webhook-secret-0123456789',
      POLL_INTERVAL_SECONDS: '0',
    });
    try {
      for (const path of [
        '/sandbox/smart/authorize',
        '/sandbox/smart/launch?patient=x',
        '/fhir/R4/.well-known/smart-configuration',
      ]) {
        expect((await fetch(`${real.service.url}${path}`, { redirect: 'manual' })).status).toBe(404);
      }
      expect((await fetch(`${real.service.url}/app/launch`)).status).toBe(200);
    } finally {
      await real.stop();
      await server.close();
    }
  });
});
