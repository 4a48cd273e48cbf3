/**
 * Who may call the CDS Service (CDS Hooks 2.0, "Trusting CDS Clients"): a JWT signed by a client of CDS_CLIENTS
 * (inline keys or a jwks_url), `aud` the endpoint's URL, `exp`, `iat`, `jti`, not replayed. Anything else: 401, an
 * OperationOutcome with `WWW-Authenticate: Bearer`, and no card.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { SignJWT, UnsecuredJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CLIENT_ISS,
  type ClientKey,
  casePrefetch,
  clientJwt,
  clientKey,
  patientViewRequest,
  post,
  SERVICE_PATH,
  type StartedAdapter,
  startAdapter,
} from './cds-harness.ts';

const PUBLIC_URL = 'https://adapter.example.org';
const OTHER_ISS = 'https://other-ehr.example.org/';
const AUD = `${PUBLIC_URL}${SERVICE_PATH}`;
let key: ClientKey;
let otherKey: ClientKey;
let jwksServer: Server;
let adapter: StartedAdapter;
let url: string;
const { patientId, prefetch } = casePrefetch('hyperprogression');
const body = patientViewRequest(patientId, { prefetch });
const now = () => Math.floor(Date.now() / 1000);

beforeAll(async () => {
  key = await clientKey('ES384');
  otherKey = await clientKey('RS384');
  const jwks = express();
  jwks.get('/jwks.json', (_req, res) => {
    res.json({ keys: [otherKey.publicJwk] });
  });
  jwksServer = await new Promise<Server>((resolve) => {
    const s = jwks.listen(0, '127.0.0.1', () => resolve(s));
  });
  const jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks.json`;
  adapter = await startAdapter({
    PUBLIC_URL,
    CDS_CLIENTS: JSON.stringify([
      { iss: CLIENT_ISS, jwks: { keys: [key.publicJwk] } },
      { iss: OTHER_ISS, jwks_url: jwksUrl },
    ]),
  });
  url = adapter.service.url;
});
afterAll(async () => {
  await adapter?.stop();
  await new Promise<void>((resolve) => jwksServer?.close(() => resolve()));
});

describe('accepted clients', () => {
  it.each([
    ['an inline key, aud = PUBLIC_URL + path', async () => clientJwt(key, AUD)],
    ['aud as an array', async () => clientJwt(key, AUD, { aud: [AUD] })],
    ['aud = the URL the adapter listens on', async () => clientJwt(key, `${url}${SERVICE_PATH}`)],
    ['a key from the client jwks_url (RS384)', async () => clientJwt(otherKey, AUD, { iss: OTHER_ISS })],
  ])('%s: 200 and the card', async (_label, token) => {
    const res = await post(`${url}${SERVICE_PATH}`, body, await token());
    expect(res.status).toBe(200);
    expect(res.body.cards).toMatchObject([{ indicator: 'critical' }]);
  });
});

describe('refused calls', () => {
  const NOT_VALID = 'The JWT is not valid for this endpoint (signature, audience or time)';
  it.each([
    ['no Authorization header', async () => undefined, 'A signed JWT is required (Authorization: Bearer)'],
    ['not a JWT', async () => 'not-a-jwt', 'The JWT cannot be decoded'],
    [
      'an issuer not in CDS_CLIENTS',
      async () => clientJwt(key, AUD, { iss: 'https://evil.example.org/' }),
      'The JWT issuer is not a trusted CDS client',
    ],
    ['aud of the discovery endpoint', async () => clientJwt(key, `${PUBLIC_URL}/cds-services`), NOT_VALID],
    [
      'aud of another service',
      async () => clientJwt(key, 'https://cds.example.org/cds-services/some-service'),
      NOT_VALID,
    ],
    ['expired', async () => clientJwt(key, AUD, { iat: now() - 120, exp: now() - 60 }), NOT_VALID],
    [
      'issued 10 minutes ago (too old)',
      async () => clientJwt(key, AUD, { iat: now() - 600, exp: now() + 600 }),
      NOT_VALID,
    ],
    ['without jti', async () => clientJwt(key, AUD, { jti: undefined }), NOT_VALID],
    [
      'signed by another key under the same kid',
      async () => {
        const impostor = await clientKey('ES384', key.kid);
        return clientJwt(impostor, AUD);
      },
      NOT_VALID,
    ],
    [
      'signed with HS256 (a shared secret)',
      async () =>
        new SignJWT({ iss: CLIENT_ISS, aud: AUD, exp: now() + 60, iat: now(), jti: 'hs' })
          .setProtectedHeader({ alg: 'HS256', kid: key.kid, typ: 'JWT' })
          .sign(new TextEncoder().encode('a-shared-secret-a-shared-secret-32')),
      NOT_VALID,
    ],
    [
      'unsigned (alg none)',
      async () => new UnsecuredJWT({ iss: CLIENT_ISS, aud: AUD, exp: now() + 60, iat: now(), jti: 'none' }).encode(),
      NOT_VALID,
    ],
  ])('%s: 401, no card', async (_label, token, text) => {
    const res = await post(`${url}${SERVICE_PATH}`, body, await token());
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
    expect(res.body).toEqual({
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', code: 'security', details: { text } }],
    });
    expect(res.body.cards).toBeUndefined();
  });

  it('refuses a replayed token (the same jti again)', async () => {
    const token = await clientJwt(key, AUD);
    expect((await post(`${url}${SERVICE_PATH}`, body, token)).status).toBe(200);
    const again = await post(`${url}${SERVICE_PATH}`, body, token);
    expect(again.status).toBe(401);
    expect(again.body).toMatchObject({ issue: [{ details: { text: 'The JWT was already used (replayed jti)' } }] });
  });

  it('refuses feedback without a valid JWT', async () => {
    const res = await post(`${url}${SERVICE_PATH}/feedback`, { feedback: [] });
    expect(res.status).toBe(401);
  });

  it('counts refusals in /metrics', async () => {
    const text = await (await fetch(`${url}/metrics`)).text();
    expect(text).toMatch(/^irecist_cds_hooks_requests_total\{outcome="unauthenticated"\} (1[2-9]|[2-9]\d)$/m);
  });

  it('refuses every call when CDS_CLIENTS is unset', async () => {
    const bare = await startAdapter({});
    try {
      const res = await post(
        `${bare.service.url}${SERVICE_PATH}`,
        body,
        await clientJwt(key, `${bare.service.url}${SERVICE_PATH}`),
      );
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ issue: [{ details: { text: 'The JWT issuer is not a trusted CDS client' } }] });
    } finally {
      await bare.stop();
    }
  });
});
