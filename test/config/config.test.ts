import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeConfig } from '../../src/config/describe-config.ts';
import { ConfigError, DEFAULT_FHIR_SCOPE, loadConfig } from '../../src/config.ts';

const pem = (type: 'rsa' | 'ec', options: object) =>
  generateKeyPairSync(type as 'rsa', options as { modulusLength: number }).privateKey.export({
    type: 'pkcs8',
    format: 'pem',
  }) as string;
const RSA_PEM = pem('rsa', { modulusLength: 2048 });
const EC384_PEM = pem('ec', { namedCurve: 'P-384' });
const EC256_PEM = pem('ec', { namedCurve: 'P-256' });

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return [...(err as ConfigError).problems];
  }
  throw new Error('expected a ConfigError');
}

const REAL = { FHIR_BASE_URL: 'https://fhir.example.org/fhir/R4/', WEBHOOK_SECRET: 'a-webhook-secret-0123' };

describe('loadConfig', () => {
  it('applies the defaults in sandbox mode (no FHIR_BASE_URL)', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 8080,
      publicUrl: 'http://localhost:8080',
      logLevel: 'info',
      sandbox: true,
      fhir: { baseUrl: undefined, timeoutMs: 30_000, auth: { mode: 'none' } },
      database: { url: undefined, dataDir: './.data' },
      webhook: { generated: true },
      subscribe: false,
      pollIntervalSeconds: 300,
      queueConcurrency: 4,
      chartThread: true,
      detection: { sandboxProfile: 'medplum', intervalSeconds: 5 },
    });
    expect(config.detection.mode).toBeUndefined();
    expect(config.detection.bulkGroupId).toBeUndefined();
    expect(config.webhook.secret).toMatch(/^[0-9a-f]{64}$/);
    expect(loadConfig({}).webhook.secret).not.toBe(config.webhook.secret);
  });

  it('reads a full real-server configuration', () => {
    const config = loadConfig({
      ...REAL,
      PORT: '9000',
      PUBLIC_URL: 'https://adapter.example.org/',
      LOG_LEVEL: 'debug',
      SUBSCRIBE: 'false',
      POLL_INTERVAL_SECONDS: '30',
      QUEUE_CONCURRENCY: '8',
      FHIR_TIMEOUT_MS: '5000',
      DATABASE_URL: 'postgres://u:p@db:5432/irecist',
      FHIR_AUTH: 'bearer',
      FHIR_TOKEN: 'static-token',
    });
    expect(config).toMatchObject({
      port: 9000,
      publicUrl: 'https://adapter.example.org',
      logLevel: 'debug',
      sandbox: false,
      fhir: {
        baseUrl: 'https://fhir.example.org/fhir/R4',
        timeoutMs: 5000,
        auth: { mode: 'bearer', token: 'static-token' },
      },
      database: { url: 'postgres://u:p@db:5432/irecist' },
      webhook: { secret: REAL.WEBHOOK_SECRET, generated: false },
      subscribe: false,
      pollIntervalSeconds: 30,
      queueConcurrency: 8,
      detection: { sandboxProfile: 'medplum', intervalSeconds: 30 },
    });
  });

  it.each([
    [{}, { sandboxProfile: 'medplum', intervalSeconds: 5 }],
    [{ SANDBOX_PROFILE: 'EPIC' }, { sandboxProfile: 'epic', intervalSeconds: 5 }],
    [
      { SANDBOX_PROFILE: 'hapi', POLL_INTERVAL_SECONDS: '2' },
      { sandboxProfile: 'hapi', intervalSeconds: 2 },
    ],
    [
      { CHANGE_DETECTION: 'watch-list', BULK_GROUP_ID: 'Group/cohort-1' },
      { mode: 'watch-list', bulkGroupId: 'cohort-1' },
    ],
    [{ CHANGE_DETECTION: 'auto' }, { sandboxProfile: 'medplum' }],
    [{ ...REAL }, { sandboxProfile: 'medplum', intervalSeconds: 60 }],
    [{ ...REAL, POLL_INTERVAL_SECONDS: '0' }, { intervalSeconds: 60 }],
    [
      { ...REAL, CHANGE_DETECTION: 'bulk-export', BULK_GROUP_ID: 'onc' },
      { mode: 'bulk-export', bulkGroupId: 'onc' },
    ],
  ])('reads the change-detection settings of %j', (env, expected) => {
    expect(loadConfig(env).detection).toMatchObject(expected);
  });

  it.each([
    [{ SANDBOX_PROFILE: 'cerner' }, 'SANDBOX_PROFILE: must be one of medplum, hapi, epic, oracle'],
    [
      { ...REAL, SANDBOX_PROFILE: 'epic' },
      'SANDBOX_PROFILE: applies to the sandbox only; unset it when FHIR_BASE_URL is set',
    ],
    [
      { CHANGE_DETECTION: 'smoke-signals' },
      'CHANGE_DETECTION: must be auto or one of subscriptions, last-updated, bulk-export, watch-list',
    ],
    [{ BULK_GROUP_ID: 'no spaces' }, 'BULK_GROUP_ID: must be a Group id (letters, digits, "-" and ".", at most 64)'],
    [{ ...REAL, CHANGE_DETECTION: 'bulk-export' }, 'BULK_GROUP_ID: is required when CHANGE_DETECTION=bulk-export'],
  ])('refuses %j with one clear line', (env, problem) => {
    expect(problemsOf(env)).toEqual([problem]);
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ PORT: '', FHIR_BASE_URL: ' ', FHIR_AUTH: '' }).port).toBe(8080);
  });

  it('reads CHART_THREAD (report charts drawn off the event loop unless turned off)', () => {
    expect(loadConfig({ CHART_THREAD: 'false' }).chartThread).toBe(false);
    expect(loadConfig({ CHART_THREAD: 'yes' }).chartThread).toBe(true);
    expect(problemsOf({ CHART_THREAD: 'sometimes' })).toEqual(['CHART_THREAD: must be true or false']);
  });

  it('lists every problem at once, one line each, naming the variable', () => {
    const problems = problemsOf({
      PORT: 'eighty',
      FHIR_BASE_URL: 'ftp://fhir.example.org',
      PUBLIC_URL: 'not a url',
      LOG_LEVEL: 'loud',
      SUBSCRIBE: 'maybe',
      POLL_INTERVAL_SECONDS: '-1',
      QUEUE_CONCURRENCY: '0',
      FHIR_TIMEOUT_MS: '10',
      DATABASE_URL: 'mysql://db/x',
      FHIR_AUTH: 'client-credentials',
      FHIR_TOKEN_URL: 'nope',
      FHIR_CLIENT_AUTH_METHOD: 'jwt',
    });
    expect(problems).toEqual([
      'PORT: must be a whole number between 1 and 65535',
      'FHIR_BASE_URL: must be an http(s) URL',
      'PUBLIC_URL: must be an http(s) URL',
      'LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent',
      'FHIR_TIMEOUT_MS: must be a whole number between 100 and 600000',
      'SUBSCRIBE: must be true or false',
      'POLL_INTERVAL_SECONDS: must be a whole number between 0 and 86400',
      'QUEUE_CONCURRENCY: must be a whole number between 1 and 64',
      'DATABASE_URL: must be a postgres:// or postgresql:// URL',
      'WEBHOOK_SECRET: is required when FHIR_BASE_URL is set (at least 16 characters)',
      'FHIR_CLIENT_ID: is required when FHIR_AUTH=client-credentials',
      'FHIR_CLIENT_SECRET: is required when FHIR_AUTH=client-credentials',
      'FHIR_TOKEN_URL: must be an http(s) URL',
      'FHIR_CLIENT_AUTH_METHOD: must be basic or post',
    ]);
  });

  it.each([
    [{}, 4, { min: 1, max: 16 }],
    [{ QUEUE_CONCURRENCY: '32' }, 32, { min: 1, max: 32 }],
    [{ QUEUE_CONCURRENCY: '2', QUEUE_CONCURRENCY_MIN: '2', QUEUE_CONCURRENCY_MAX: '2' }, 2, { min: 2, max: 2 }],
    [{ QUEUE_CONCURRENCY_MIN: '3', QUEUE_CONCURRENCY_MAX: '40' }, 4, { min: 3, max: 40 }],
  ])('reads the adaptive concurrency range: %o -> starts at %i within %o', (env, initial, range) => {
    const config = loadConfig(env);
    expect(config.queueConcurrency).toBe(initial);
    expect(config.queueConcurrencyRange).toEqual(range);
  });

  it('refuses a concurrency range that does not hold QUEUE_CONCURRENCY', () => {
    expect(problemsOf({ QUEUE_CONCURRENCY: '8', QUEUE_CONCURRENCY_MIN: '9', QUEUE_CONCURRENCY_MAX: '7' })).toEqual([
      'QUEUE_CONCURRENCY_MIN: must be at most QUEUE_CONCURRENCY (8)',
      'QUEUE_CONCURRENCY_MAX: must be at least QUEUE_CONCURRENCY (8)',
    ]);
    expect(problemsOf({ QUEUE_CONCURRENCY_MIN: '0', QUEUE_CONCURRENCY_MAX: 'many' })).toEqual([
      'QUEUE_CONCURRENCY_MIN: must be a whole number between 1 and 64',
      'QUEUE_CONCURRENCY_MAX: must be a whole number between 1 and 64',
    ]);
  });

  it('puts every problem in the error message', () => {
    expect(() => loadConfig({ PORT: '0', FHIR_AUTH: 'kerberos' })).toThrow(
      'Invalid configuration:\n  - PORT: must be a whole number between 1 and 65535\n  - FHIR_AUTH: must be one of none, bearer, client-credentials, smart-backend',
    );
  });

  it('never puts a secret value in the message', () => {
    const secrets = {
      WEBHOOK_SECRET: 'short-s3cret',
      FHIR_CLIENT_SECRET: 'client-s3cret-value',
      FHIR_TOKEN: 'token-s3cret-value',
      DATABASE_URL: 'mysql://user:pa55word@db/x',
      FHIR_PRIVATE_KEY: '-----BEGIN PRIVATE KEY-----\\nS3CRETKEYMATERIAL\\n-----END PRIVATE KEY-----',
    };
    for (const FHIR_AUTH of ['bearer', 'client-credentials', 'smart-backend']) {
      let message = '';
      try {
        loadConfig({ ...secrets, FHIR_BASE_URL: 'https://x.example', FHIR_AUTH, FHIR_JWT_ALG: 'HS256' });
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).toContain('Invalid configuration');
      for (const value of ['short-s3cret', 'client-s3cret', 'token-s3cret', 'pa55word', 'S3CRETKEYMATERIAL']) {
        expect(message).not.toContain(value);
      }
    }
  });

  it('requires a webhook secret of at least 16 characters with a real server', () => {
    expect(problemsOf({ FHIR_BASE_URL: 'https://x.example' })).toEqual([
      'WEBHOOK_SECRET: is required when FHIR_BASE_URL is set (at least 16 characters)',
    ]);
    expect(problemsOf({ FHIR_BASE_URL: 'https://x.example', WEBHOOK_SECRET: '123456789012345' })).toEqual([
      'WEBHOOK_SECRET: must be at least 16 characters',
    ]);
  });

  it('rejects an auth mode without a FHIR server', () => {
    expect(problemsOf({ FHIR_AUTH: 'bearer', FHIR_TOKEN: 't' })).toEqual(['FHIR_AUTH: bearer requires FHIR_BASE_URL']);
  });

  it('reads client-credentials with the default scope and basic client authentication', () => {
    const config = loadConfig({
      ...REAL,
      FHIR_AUTH: 'client-credentials',
      FHIR_CLIENT_ID: 'id',
      FHIR_CLIENT_SECRET: 's',
    });
    expect(config.fhir.auth).toEqual({
      mode: 'client-credentials',
      clientId: 'id',
      clientSecret: 's',
      tokenUrl: undefined,
      scope: DEFAULT_FHIR_SCOPE,
      clientAuthMethod: 'basic',
    });
  });

  describe('smart-backend keys', () => {
    const smart = { ...REAL, FHIR_AUTH: 'smart-backend', FHIR_CLIENT_ID: 'adapter', FHIR_KEY_ID: 'k1' };

    it('reads an RSA key inline with \\n escapes and infers RS384', () => {
      const config = loadConfig({
        ...smart,
        FHIR_PRIVATE_KEY: RSA_PEM.replace(/\n/g, '\\n'),
        FHIR_SCOPE: 'system/*.rs',
      });
      expect(config.fhir.auth).toMatchObject({
        mode: 'smart-backend',
        alg: 'RS384',
        keyId: 'k1',
        scope: 'system/*.rs',
      });
    });

    it('reads an EC P-384 key from a file and infers ES384', () => {
      const file = join(mkdtempSync(join(tmpdir(), 'irecist-key-')), 'key.pem');
      writeFileSync(file, EC384_PEM);
      expect(loadConfig({ ...smart, FHIR_PRIVATE_KEY_FILE: file }).fhir.auth).toMatchObject({ alg: 'ES384' });
    });

    it.each([
      [
        { FHIR_PRIVATE_KEY: RSA_PEM, FHIR_JWT_ALG: 'ES384' },
        'FHIR_JWT_ALG: ES384 does not match the private key (which needs RS384)',
      ],
      [{ FHIR_PRIVATE_KEY: EC256_PEM }, 'FHIR_PRIVATE_KEY: must be an RSA key (RS384) or an EC P-384 key (ES384)'],
      [{ FHIR_PRIVATE_KEY: 'garbage' }, 'FHIR_PRIVATE_KEY: is not a PEM (PKCS#8, PKCS#1 or SEC1) or JWK private key'],
      [{ FHIR_PRIVATE_KEY_FILE: '/nonexistent/key.pem' }, 'FHIR_PRIVATE_KEY_FILE: cannot be read (ENOENT)'],
      [
        { FHIR_PRIVATE_KEY: RSA_PEM, FHIR_PRIVATE_KEY_FILE: '/x' },
        'FHIR_PRIVATE_KEY: set only one of FHIR_PRIVATE_KEY and FHIR_PRIVATE_KEY_FILE',
      ],
      [{}, 'FHIR_PRIVATE_KEY: is required when FHIR_AUTH=smart-backend (or FHIR_PRIVATE_KEY_FILE)'],
    ])('reports a bad key: %#', (env, problem) => {
      expect(problemsOf({ ...smart, ...(env as Record<string, string>) })).toEqual([problem]);
    });

    it('requires the client id and key id', () => {
      expect(problemsOf({ ...REAL, FHIR_AUTH: 'smart-backend', FHIR_PRIVATE_KEY: RSA_PEM })).toEqual([
        'FHIR_CLIENT_ID: is required when FHIR_AUTH=smart-backend',
        'FHIR_KEY_ID: is required when FHIR_AUTH=smart-backend',
      ]);
    });
  });

  it('describes the configuration without secrets', () => {
    const config = loadConfig({
      ...REAL,
      FHIR_AUTH: 'client-credentials',
      FHIR_CLIENT_ID: 'id',
      FHIR_CLIENT_SECRET: 'client-s3cret',
      DATABASE_URL: 'postgres://u:pa55@db/x',
    });
    const text = JSON.stringify(describeConfig(config));
    expect(text).not.toContain('client-s3cret');
    expect(text).not.toContain('pa55');
    expect(text).not.toContain(REAL.WEBHOOK_SECRET);
    expect(describeConfig(config)).toMatchObject({
      fhirAuth: 'client-credentials',
      fhirClientId: 'id',
      database: 'postgres',
    });
  });
});
