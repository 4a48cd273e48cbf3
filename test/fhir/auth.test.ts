import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { decodeProtectedHeader, jwtVerify } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FhirAuthConfig } from '../../src/config.ts';
import { CLIENT_ASSERTION_TYPE } from '../../src/fhir/auth/smart-backend.ts';
import { createFhirClient } from '../../src/fhir/client-factory.ts';
import { FhirRequestError, isRetryable } from '../../src/fhir/http-error.ts';
import { type Loopback, type RecordedRequest, type Reply, startLoopback } from './loopback.ts';

const PATIENT = { resourceType: 'Patient', id: 'p1' };
let server: Loopback;
let tokenCount: number;
let tokenReply: (req: RecordedRequest) => Reply;

beforeEach(async () => {
  tokenCount = 0;
  tokenReply = () => {
    tokenCount++;
    return {
      json: { access_token: `token-${tokenCount}`, token_type: 'Bearer', expires_in: 300 },
      headers: { 'content-type': 'application/json' },
    };
  };
  server = await startLoopback((req) => {
    if (req.path === '/oauth/token') return tokenReply(req);
    if (req.path === '/fhir/.well-known/smart-configuration') {
      return { json: { token_endpoint: `${server.url}/oauth/token` }, headers: { 'content-type': 'application/json' } };
    }
    if (req.path === '/fhir/Patient/p1') return { json: PATIENT };
    return {
      status: 404,
      json: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'not-found' }] },
    };
  });
});
afterEach(() => server.close());

function client(auth: FhirAuthConfig, now?: () => number) {
  return createFhirClient({ port: 0, fhir: { baseUrl: `${server.url}/fhir`, timeoutMs: 5000, auth } }, { now });
}
const fhirRequests = () => server.requests.filter((r) => r.path.startsWith('/fhir/Patient'));
const tokenRequests = () => server.requests.filter((r) => r.path === '/oauth/token');
const form = (r: RecordedRequest) => new URLSearchParams(r.body);

describe('auth: none and bearer', () => {
  it('sends no Authorization header with FHIR_AUTH=none', async () => {
    await expect(client({ mode: 'none' }).readResource('Patient', 'p1')).resolves.toMatchObject(PATIENT);
    expect(fhirRequests()[0]?.headers.authorization).toBeUndefined();
  });

  it('sends the static token with FHIR_AUTH=bearer, and does not retry a 401', async () => {
    const c = client({ mode: 'bearer', token: 'static-token' });
    await c.readResource('Patient', 'p1');
    expect(fhirRequests()[0]?.headers.authorization).toBe('Bearer static-token');
    server.handle(() => ({ status: 401, text: 'no' }));
    const err = await c.readResource('Patient', 'p1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FhirRequestError);
    expect((err as FhirRequestError).status).toBe(401);
    expect(isRetryable(err)).toBe(false);
    expect(server.requests.filter((r) => r.path === '/fhir/Patient/p1')).toHaveLength(2);
  });
});

describe('auth: client-credentials', () => {
  const base = {
    mode: 'client-credentials',
    clientId: 'adapter id',
    clientSecret: 's3cret:+&',
    scope: 'system/*.rs',
  } as const;

  it('uses client_secret_basic, sends the scope, caches the token and re-obtains it after expiry', async () => {
    let clock = 1_000_000;
    const c = client({ ...base, clientAuthMethod: 'basic', tokenUrl: `${server.url}/oauth/token` }, () => clock);
    await c.readResource('Patient', 'p1');
    await c.readResource('Patient', 'p1');
    expect(tokenRequests()).toHaveLength(1);
    const tokenReq = tokenRequests()[0] as RecordedRequest;
    expect(tokenReq.method).toBe('POST');
    expect(tokenReq.headers['content-type']).toBe('application/x-www-form-urlencoded');
    // RFC 6749 2.3.1: form-urlencoded id and secret, then Basic.
    expect(tokenReq.headers.authorization).toBe(
      `Basic ${Buffer.from('adapter+id:s3cret%3A%2B%26').toString('base64')}`,
    );
    expect(Object.fromEntries(form(tokenReq))).toEqual({ grant_type: 'client_credentials', scope: 'system/*.rs' });
    expect(fhirRequests().map((r) => r.headers.authorization)).toEqual(['Bearer token-1', 'Bearer token-1']);

    clock += 299_000; // within the last fifth of the 300 s lifetime: re-obtained early
    await c.readResource('Patient', 'p1');
    expect(tokenRequests()).toHaveLength(2);
    expect(fhirRequests()[2]?.headers.authorization).toBe('Bearer token-2');
  });

  it('uses client_secret_post and discovers the token endpoint', async () => {
    const c = client({ ...base, clientAuthMethod: 'post' });
    await c.readResource('Patient', 'p1');
    const paths = server.requests.map((r) => r.path);
    expect(paths).toEqual(['/fhir/.well-known/smart-configuration', '/oauth/token', '/fhir/Patient/p1']);
    const tokenReq = tokenRequests()[0] as RecordedRequest;
    expect(tokenReq.headers.authorization).toBeUndefined();
    expect(Object.fromEntries(form(tokenReq))).toEqual({
      grant_type: 'client_credentials',
      scope: 'system/*.rs',
      client_id: 'adapter id',
      client_secret: 's3cret:+&',
    });
    await c.readResource('Patient', 'p1');
    expect(server.requests.filter((r) => r.path.includes('well-known'))).toHaveLength(1);
  });

  it('shares one token request between concurrent calls', async () => {
    const c = client({ ...base, clientAuthMethod: 'basic', tokenUrl: `${server.url}/oauth/token` });
    await Promise.all([1, 2, 3].map(() => c.readResource('Patient', 'p1')));
    expect(tokenRequests()).toHaveLength(1);
  });

  it('gets a new token once after a 401 from the FHIR server', async () => {
    const c = client({ ...base, clientAuthMethod: 'basic', tokenUrl: `${server.url}/oauth/token` });
    let first = true;
    server.handle((req) => {
      if (req.path === '/oauth/token') return tokenReply(req);
      if (first) {
        first = false;
        return { status: 401 };
      }
      return { json: PATIENT };
    });
    await expect(c.readResource('Patient', 'p1')).resolves.toMatchObject(PATIENT);
    expect(fhirRequests().map((r) => r.headers.authorization)).toEqual(['Bearer token-1', 'Bearer token-2']);
  });

  it('reports a rejected client as non-retryable, without the secret', async () => {
    tokenReply = () => ({ status: 401, json: { error: 'invalid_client', error_description: 'bad s3cret:+&' } });
    const c = client({ ...base, clientAuthMethod: 'basic', tokenUrl: `${server.url}/oauth/token` });
    const err = (await c.readResource('Patient', 'p1').catch((e: unknown) => e)) as FhirRequestError;
    expect(err).toBeInstanceOf(FhirRequestError);
    expect(isRetryable(err)).toBe(false);
    expect(err.message).toBe('Token request rejected');
    expect(err.outcome.issue?.[0]?.diagnostics).toBe('HTTP 401 invalid_client');
    expect(JSON.stringify(err.outcome)).not.toContain('s3cret');
    expect(fhirRequests()).toHaveLength(0);
  });

  it('reports a failing token endpoint as retryable, with Retry-After', async () => {
    tokenReply = () => ({ status: 503, headers: { 'retry-after': '12' }, text: 'down' });
    const c = client({ ...base, clientAuthMethod: 'basic', tokenUrl: `${server.url}/oauth/token` });
    const err = (await c.readResource('Patient', 'p1').catch((e: unknown) => e)) as FhirRequestError;
    expect(isRetryable(err)).toBe(true);
    expect(err.retryAfterMs).toBe(12_000);
  });

  it('does not send the token to another origin', async () => {
    const other = await startLoopback(() => ({ json: PATIENT }));
    try {
      const c = client({ ...base, clientAuthMethod: 'basic', tokenUrl: `${server.url}/oauth/token` });
      await c.get(`${other.url}/fhir/Patient/p1`);
      expect(other.requests[0]?.headers.authorization).toBeUndefined();
    } finally {
      await other.close();
    }
  });
});

describe('auth: smart-backend (private_key_jwt)', () => {
  const keys = {
    RS384: generateKeyPairSync('rsa', { modulusLength: 2048 }),
    ES384: generateKeyPairSync('ec', { namedCurve: 'P-384' }),
  };

  it.each(['RS384', 'ES384'] as const)('signs a %s client assertion the token endpoint can verify', async (alg) => {
    let clock = Date.now();
    const { privateKey, publicKey } = keys[alg];
    const c = client(
      {
        mode: 'smart-backend',
        clientId: 'irecist-adapter',
        scope: 'system/*.rs system/Flag.cu',
        privateKey: privateKey as KeyObject,
        keyId: 'key-1',
        alg,
        tokenUrl: undefined,
      },
      () => clock,
    );
    await c.readResource('Patient', 'p1');
    await c.readResource('Patient', 'p1');
    expect(tokenRequests()).toHaveLength(1);

    const tokenUrl = `${server.url}/oauth/token`;
    const body = form(tokenRequests()[0] as RecordedRequest);
    expect(body.get('grant_type')).toBe('client_credentials');
    expect(body.get('scope')).toBe('system/*.rs system/Flag.cu');
    expect(body.get('client_assertion_type')).toBe(CLIENT_ASSERTION_TYPE);
    const assertion = body.get('client_assertion') as string;
    expect(decodeProtectedHeader(assertion)).toEqual({ alg, kid: 'key-1', typ: 'JWT' });
    const { payload } = await jwtVerify(assertion, createPublicKey(publicKey.export({ type: 'spki', format: 'pem' })), {
      algorithms: [alg],
      issuer: 'irecist-adapter',
      subject: 'irecist-adapter',
      audience: tokenUrl,
      currentDate: new Date(clock),
    });
    expect(payload.jti).toMatch(/^[0-9a-f-]{36}$/);
    expect((payload.exp as number) - Math.floor(clock / 1000)).toBeLessThanOrEqual(300);
    expect(payload.exp as number).toBeGreaterThan(Math.floor(clock / 1000));
    expect(fhirRequests().map((r) => r.headers.authorization)).toEqual(['Bearer token-1', 'Bearer token-1']);

    clock += 301_000; // token expired: a new, freshly signed assertion
    await c.readResource('Patient', 'p1');
    expect(tokenRequests()).toHaveLength(2);
    const second = form(tokenRequests()[1] as RecordedRequest).get('client_assertion') as string;
    expect(second).not.toBe(assertion);
    const { payload: p2 } = await jwtVerify(second, publicKey, { currentDate: new Date(clock), audience: tokenUrl });
    expect(p2.jti).not.toBe(payload.jti);
    expect(fhirRequests()[2]?.headers.authorization).toBe('Bearer token-2');
  });

  it('does not accept a non-bearer token type', async () => {
    tokenReply = () => ({ json: { access_token: 'x', token_type: 'mac' } });
    const c = client({
      mode: 'smart-backend',
      clientId: 'a',
      scope: 's',
      privateKey: keys.ES384.privateKey,
      keyId: 'k',
      alg: 'ES384',
      tokenUrl: `${server.url}/oauth/token`,
    });
    await expect(c.readResource('Patient', 'p1')).rejects.toThrow('Token response invalid');
  });
});
