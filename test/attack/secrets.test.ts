/**
 * Secrets never leave the process: the webhook secret, FHIR_TOKEN, FHIR_CLIENT_SECRET (and its HTTP Basic form), the
 * access tokens the adapter is issued and FHIR_PRIVATE_KEY appear in no log line (LOG_LEVEL=trace), in no reply (401,
 * 400, 5xx), in /metrics or /readyz, and in no configuration error, even when the FHIR server misbehaves by echoing
 * the credentials it was sent into its error bodies, and even when a secret is put in the wrong variable.
 *
 * Every FHIR auth mode runs in process (startAdapter, the one pino logger captured at trace); client credentials also
 * run as the real command (`serve`) in a child process, so everything it writes is scanned: its log file (LOG_FILE),
 * stdout and stderr. The FHIR server is the sandbox behind a loopback auth layer that echoes what it was sent.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHmac, generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DiagnosticReport } from '@medplum/fhirtypes';
import express from 'express';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logger } from '../../src/logging.ts';
import { createSandbox, type Sandbox } from '../../src/sandbox/index.ts';
import { BIN, ROOT, runCli } from '../cli/run-cli.ts';
import { caseTransaction, loadCase, type TestCase } from '../e2e/cases.ts';
import { dropSchema, FAST_QUEUE, startAdapter, uniqueSchema, waitFor } from '../e2e/harness.ts';
import { recordIntakeCalls } from './intake-calls.ts';

const WEBHOOK_SECRET = 'whsec-7Qm2Zr9Lx4Tn8Vb1Kp6Hd3Fs0Gy5Wc';
const FHIR_TOKEN = 'fhirtok-Jr5Nq8Wz2Lx7Vm4Tb9Kd1Hs6Pc3Fg';
const CLIENT_ID = 'irecist-client';
const CLIENT_SECRET = 'clsec-Ys4Rm7Qx2Nv9Lb6Tz1Kc8Hd5Wp3Fj';
const ACCESS_TOKEN = 'acctok-Bv3Xn6Qm9Rz2Lt5Wk8Hc1Fp4Dj7Gs';
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PRIVATE_KEY_PEM = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

/** Every form a secret could leak in: the values, the Basic credentials, and lines from the middle of the key. */
const FORBIDDEN: readonly string[] = [
  WEBHOOK_SECRET,
  FHIR_TOKEN,
  CLIENT_SECRET,
  ACCESS_TOKEN,
  Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64'),
  Buffer.from(CLIENT_SECRET).toString('base64'),
  ...PRIVATE_KEY_PEM.split('\n').slice(5, 20),
];

function leaks(text: string): string[] {
  return FORBIDDEN.filter((secret) => text.includes(secret));
}

const tmp = mkdtempSync(join(tmpdir(), 'irecist-secrets-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// ---------------------------------------------------------------------------------------------------------------
// A FHIR server that demands credentials and, when failing, echoes back what it was sent (as some do, in diagnostics)

interface EchoingServer {
  baseUrl: string;
  tokenUrl: string;
  sandbox: Sandbox;
  /**
   * While true, every FHIR request is answered 500 with the request's headers in the diagnostics, and every other
   * token request 401 with its headers and form.
   */
  failing: boolean;
  tokenRequests: number;
  tokensRefused: number;
  close(): Promise<void>;
}

async function startEchoingServer(): Promise<EchoingServer> {
  const app = express();
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const sandbox = createSandbox({ baseUrl: `${url}/fhir/R4` });
  const state: EchoingServer = {
    baseUrl: sandbox.baseUrl,
    tokenUrl: `${url}/token`,
    sandbox,
    failing: false,
    tokenRequests: 0,
    tokensRefused: 0,
    close: async () => {
      await sandbox.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
    },
  };
  const echo = (status: number, what: unknown) => ({
    resourceType: 'OperationOutcome',
    issue: [{ severity: 'error', code: 'security', diagnostics: `refused: ${JSON.stringify(what)}` }],
    status,
  });

  let refuseNextToken = true;
  app.post('/token', express.urlencoded({ extended: false }), (req, res) => {
    state.tokenRequests++;
    // While failing, every other token request is refused with the credentials echoed back, the first one included
    // (the rest succeed, so the FHIR requests are made, and fail too). Tokens live 2 s, so the adapter keeps asking.
    if (state.failing && refuseNextToken) {
      refuseNextToken = false;
      state.tokensRefused++;
      res
        .status(401)
        .json({ error: 'invalid_client', error_description: JSON.stringify({ headers: req.headers, body: req.body }) });
      return;
    }
    refuseNextToken = true;
    res.json({ access_token: ACCESS_TOKEN, token_type: 'Bearer', expires_in: 2, scope: req.body?.scope });
  });
  app.use('/fhir/R4', (req, res, next) => {
    const auth = req.headers.authorization ?? '';
    if (auth !== `Bearer ${ACCESS_TOKEN}` && auth !== `Bearer ${FHIR_TOKEN}`) {
      res.status(401).json(echo(401, req.headers));
      return;
    }
    if (state.failing) {
      res.status(500).json(echo(500, req.headers));
      return;
    }
    next();
  });
  app.use('/fhir/R4', sandbox.router);
  return state;
}

// ---------------------------------------------------------------------------------------------------------------
// The service as a child process

interface ServeProcess {
  url: string;
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

async function startServe(name: string, env: Record<string, string>): Promise<ServeProcess> {
  const port = await freePort();
  const logFile = join(tmp, `${name}.ndjson`);
  const child = spawn(process.execPath, [BIN, 'serve'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      PORT: String(port),
      DATA_DIR: mkdtempSync(join(tmp, `${name}-data-`)),
      DATABASE_URL: '',
      LOG_LEVEL: 'trace',
      LOG_FILE: logFile,
      WEBHOOK_SECRET,
      SUBSCRIBE: 'false',
      POLL_INTERVAL_SECONDS: '0',
      ...env,
    },
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (b: Buffer) => {
    stdout += b.toString('utf8');
  });
  child.stderr?.on('data', (b: Buffer) => {
    stderr += b.toString('utf8');
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const output = () => `${stdout}\n${stderr}\n${existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''}`;
  await waitFor(
    () => stderr.includes('irecist-adapter listening') || child.exitCode !== null,
    `${name} to listen`,
    60_000,
  );
  if (child.exitCode !== null) throw new Error(`${name} exited: ${stderr.slice(0, 500)}`);
  return {
    url: `http://127.0.0.1:${port}`,
    child,
    output,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(killer);
    },
  };
}

const sign = (body: string, secret = WEBHOOK_SECRET): string => createHmac('sha256', secret).update(body).digest('hex');

async function exchange(url: string, init?: RequestInit): Promise<{ status: number; text: string }> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(30_000) });
  return { status: res.status, text: await res.text() };
}

// ---------------------------------------------------------------------------------------------------------------

const MODES: [string, Record<string, string>][] = [
  ['bearer', { FHIR_AUTH: 'bearer', FHIR_TOKEN }],
  [
    'client-credentials',
    { FHIR_AUTH: 'client-credentials', FHIR_CLIENT_ID: CLIENT_ID, FHIR_CLIENT_SECRET: CLIENT_SECRET },
  ],
  [
    'smart-backend',
    { FHIR_AUTH: 'smart-backend', FHIR_CLIENT_ID: CLIENT_ID, FHIR_KEY_ID: 'key-1', FHIR_PRIVATE_KEY: PRIVATE_KEY_PEM },
  ],
];

/** Puts a case on the echoing server (which wants credentials like any other request). */
async function loadOnto(fhir: EchoingServer, tc: TestCase): Promise<void> {
  const put = await exchange(fhir.baseUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/fhir+json', authorization: `Bearer ${FHIR_TOKEN}` },
    body: JSON.stringify(caseTransaction(tc)),
  });
  expect(put.status, put.text.slice(0, 300)).toBe(200);
}

/**
 * What every run does to the adapter at `url`, returning every reply body: a good signed notification (assessed, so
 * the token and FHIR calls were made), refusals (a near-miss secret, another secret as the bearer, a signature with
 * the wrong key, malformed JSON holding a secret), /metrics and /readyz; then the FHIR server fails every request
 * echoing the credentials it got, so readiness turns 503 and an assessment fails and is retried, all of it logged.
 */
async function exercise(url: string, fhir: EchoingServer, tc: TestCase): Promise<string[]> {
  const replies: string[] = [];
  const post = async (body: string, headers: Record<string, string>, status: number) => {
    const answer = await exchange(`${url}/notifications`, {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json', ...headers },
      body,
    });
    expect(answer.status, answer.text.slice(0, 300)).toBe(status);
    replies.push(answer.text);
  };
  const patient = JSON.stringify(await fhir.sandbox.repo.readResource('Patient', tc.patientId));
  await post(patient, { 'x-signature': sign(patient) }, 200);
  await waitFor(
    () =>
      fhir.sandbox.repo
        .listCurrent<DiagnosticReport>('DiagnosticReport')
        .some((r) => r.subject?.reference === `Patient/${tc.patientId}`),
    `${tc.name}: the report written`,
    60_000,
  );
  await post(patient, { authorization: `Bearer ${WEBHOOK_SECRET.slice(0, -1)}` }, 401);
  await post(patient, { authorization: `Bearer ${FHIR_TOKEN}` }, 401);
  await post(patient, { 'x-signature': sign(patient, CLIENT_SECRET) }, 401);
  await post(`{"resourceType":"Patient","id":"${CLIENT_SECRET}"`, { authorization: `Bearer ${WEBHOOK_SECRET}` }, 400);
  replies.push((await exchange(`${url}/metrics`)).text);
  replies.push((await exchange(`${url}/readyz`)).text);

  fhir.failing = true;
  try {
    const ready = await exchange(`${url}/readyz`);
    expect(ready.status).toBe(503);
    replies.push(ready.text);
    // Assessments that fail, before and after the access token expires (so a new one is asked for, and refused).
    for (const n of [1, 2, 3]) {
      const other = JSON.stringify({ resourceType: 'Patient', id: `${tc.name}-unreachable-${n}` });
      await post(other, { authorization: `Bearer ${WEBHOOK_SECRET}` }, 200);
      await new Promise((r) => setTimeout(r, 1_100));
      replies.push((await exchange(`${url}/readyz`)).text);
    }
  } finally {
    fhir.failing = false;
  }
  return replies;
}

/** The scanned text must hold the logging of real work, at the finest levels and of the failures, or it proves nothing. */
function expectRealLog(lines: string[], label: string): void {
  expect(lines.length, `${label}: log lines`).toBeGreaterThan(20);
  expect(
    lines.some((l) => l.includes('"level":10') || l.includes('"level":20')),
    `${label}: trace/debug`,
  ).toBe(true);
  expect(
    lines.some((l) => l.includes('"level":40') || l.includes('"level":50')),
    `${label}: warnings`,
  ).toBe(true);
}

describe('secrets in a running service, in process (every FHIR auth mode, LOG_LEVEL=trace, the logger captured)', () => {
  let fhir: EchoingServer;
  const lines: string[] = [];
  let restoreLog = (): void => {};
  beforeAll(async () => {
    fhir = await startEchoingServer();
    const root = logger as unknown as Record<symbol, { write(line: string): void }>;
    const original = root[pino.symbols.streamSym] as { write(line: string): void };
    root[pino.symbols.streamSym] = {
      write: (line: string) => {
        lines.push(line);
        original.write(line);
      },
    };
    restoreLog = () => {
      root[pino.symbols.streamSym] = original;
    };
  });
  afterAll(async () => {
    restoreLog();
    await fhir?.close();
  });

  it.each(MODES)(
    '%s: no secret in a log line, a reply (401, 400, 503), /metrics or /readyz',
    async (mode, env) => {
      const tc = loadCase('pseudoprogression', `secret-${mode}`);
      await loadOnto(fhir, tc);
      const schema = uniqueSchema('secrets');
      const first = lines.length;
      const adapter = await startAdapter({
        fhirBaseUrl: fhir.baseUrl,
        schema,
        queue: FAST_QUEUE,
        env: { ...env, WEBHOOK_SECRET, FHIR_TOKEN_URL: fhir.tokenUrl, FHIR_TIMEOUT_MS: '5000', LOG_LEVEL: 'trace' },
      });
      try {
        const replies = await exercise(adapter.url, fhir, tc);
        // A notification that cannot be queued: the 503 reply.
        recordIntakeCalls(adapter.queue).failNext(1);
        const body = JSON.stringify({ resourceType: 'Patient', id: `${mode}-queue-down` });
        const down = await exchange(`${adapter.url}/notifications`, {
          method: 'POST',
          headers: { 'content-type': 'application/fhir+json', 'x-signature': sign(body) },
          body,
        });
        expect(down.status).toBe(503);
        replies.push(down.text);
        expect(leaks(replies.join('\n')), `${mode}: secrets in the replies`).toEqual([]);
      } finally {
        await adapter.close();
        await dropSchema(schema);
      }
      const logged = lines.slice(first);
      expectRealLog(logged, mode);
      expect(leaks(logged.join('')), `${mode}: secrets in the log`).toEqual([]);
    },
    90_000,
  );

  it('the echoing server really was asked for tokens, and refused some echoing the credentials', () => {
    expect(fhir.tokenRequests).toBeGreaterThan(2);
    expect(fhir.tokensRefused).toBeGreaterThan(0);
  });
});

describe('secrets in the real command (serve as a child process: log file, stdout and stderr)', () => {
  it('client credentials, LOG_LEVEL=trace: no secret anywhere the process writes', async () => {
    const fhir = await startEchoingServer();
    const tc = loadCase('pseudoprogression', 'secret-serve');
    await loadOnto(fhir, tc);
    const serve = await startServe('serve', {
      ...(MODES[1] as [string, Record<string, string>])[1],
      FHIR_BASE_URL: fhir.baseUrl,
      FHIR_TOKEN_URL: fhir.tokenUrl,
      FHIR_TIMEOUT_MS: '5000',
    });
    let replies: string[] = [];
    try {
      replies = await exercise(serve.url, fhir, tc);
    } finally {
      await serve.stop();
      await fhir.close();
    }
    const output = serve.output();
    expectRealLog(
      output.split('\n').filter((l) => l.startsWith('{')),
      'serve',
    );
    expect(leaks(output), 'secrets in what the process wrote').toEqual([]);
    expect(leaks(replies.join('\n')), 'secrets in the replies').toEqual([]);
  }, 120_000);
});

describe('secrets in configuration errors (serve with invalid values next to secrets)', () => {
  const base = { WEBHOOK_SECRET, LOG_LEVEL: 'trace', DATA_DIR: tmp, DATABASE_URL: '' };
  const keyFile = join(tmp, 'garbage.pem');
  writeFileSync(keyFile, `-----BEGIN PRIVATE KEY-----\n${CLIENT_SECRET}\n-----END PRIVATE KEY-----\n`);
  const smallKey = generateKeyPairSync('rsa', { modulusLength: 1024 })
    .privateKey.export({ type: 'pkcs8', format: 'pem' })
    .toString();

  it.each<[string, Record<string, string>, string[]]>([
    [
      'a webhook secret too short',
      { FHIR_BASE_URL: 'http://127.0.0.1:9/fhir', WEBHOOK_SECRET: 'whsec-short' },
      ['whsec-short'],
    ],
    [
      'client credentials with a bad token URL and port',
      {
        FHIR_BASE_URL: 'http://127.0.0.1:9/fhir',
        FHIR_AUTH: 'client-credentials',
        FHIR_CLIENT_ID: CLIENT_ID,
        FHIR_CLIENT_SECRET: CLIENT_SECRET,
        FHIR_TOKEN_URL: 'not a url',
        PORT: 'eighty',
      },
      [],
    ],
    [
      'secrets put in the wrong variables',
      {
        FHIR_BASE_URL: `http://${CLIENT_SECRET}`,
        FHIR_AUTH: FHIR_TOKEN,
        FHIR_JWT_ALG: CLIENT_SECRET,
        LOG_LEVEL: WEBHOOK_SECRET,
        PORT: FHIR_TOKEN,
        FHIR_TIMEOUT_MS: CLIENT_SECRET,
        SUBSCRIBE: WEBHOOK_SECRET,
        FHIR_CLIENT_AUTH_METHOD: CLIENT_SECRET,
        DATABASE_URL: `mysql://root:${CLIENT_SECRET}@db/x`,
        PUBLIC_URL: `ftp://${FHIR_TOKEN}`,
        QUEUE_CONCURRENCY: WEBHOOK_SECRET,
      },
      [],
    ],
    [
      'smart-backend with a private key that is not one',
      {
        FHIR_BASE_URL: 'http://127.0.0.1:9/fhir',
        FHIR_AUTH: 'smart-backend',
        FHIR_CLIENT_ID: CLIENT_ID,
        FHIR_KEY_ID: 'k1',
        FHIR_PRIVATE_KEY: `-----BEGIN PRIVATE KEY-----\\n${CLIENT_SECRET}\\n-----END PRIVATE KEY-----`,
      },
      [],
    ],
    [
      'smart-backend with a broken JWK',
      {
        FHIR_BASE_URL: 'http://127.0.0.1:9/fhir',
        FHIR_AUTH: 'smart-backend',
        FHIR_CLIENT_ID: CLIENT_ID,
        FHIR_KEY_ID: 'k1',
        FHIR_PRIVATE_KEY: `{"kty":"RSA","d":"${CLIENT_SECRET}","n":"x"`,
      },
      [],
    ],
    [
      'smart-backend with a key file of garbage and a key too small',
      {
        FHIR_BASE_URL: 'http://127.0.0.1:9/fhir',
        FHIR_AUTH: 'smart-backend',
        FHIR_CLIENT_ID: CLIENT_ID,
        FHIR_KEY_ID: 'k1',
        FHIR_PRIVATE_KEY_FILE: keyFile,
      },
      [],
    ],
    [
      'smart-backend with an RSA key of 1024 bits and the wrong algorithm',
      {
        FHIR_BASE_URL: 'http://127.0.0.1:9/fhir',
        FHIR_AUTH: 'smart-backend',
        FHIR_CLIENT_ID: CLIENT_ID,
        FHIR_KEY_ID: 'k1',
        FHIR_PRIVATE_KEY: smallKey,
        FHIR_JWT_ALG: 'ES384',
      },
      smallKey.split('\n').slice(3, 8),
    ],
    [
      'bearer without FHIR_BASE_URL, both secrets set',
      { FHIR_AUTH: 'bearer', FHIR_TOKEN, FHIR_CLIENT_SECRET: CLIENT_SECRET },
      [],
    ],
  ])(
    '%s: exit 2, one line per problem, no secret',
    async (label, env, alsoSecret) => {
      const logFile = join(tmp, `config-${label.replace(/\W+/g, '-')}.ndjson`);
      const run = await runCli(['serve'], { env: { ...base, LOG_FILE: logFile, ...env }, timeoutMs: 30_000 });
      expect(run.status, run.stderr).toBe(2);
      expect(run.stderr).toMatch(/^Invalid configuration:\n {2}- /);
      const text = `${run.stdout}\n${run.stderr}\n${existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''}`;
      expect(leaks(text)).toEqual([]);
      for (const secret of alsoSecret) expect(text).not.toContain(secret);
    },
    40_000,
  );

  it('a database that refuses the connection: the start-up failure names no password', async () => {
    const password = 'dbpw-Hq8Zt3Mx6Kw1Rn4Vb9';
    const logFile = join(tmp, 'database-refused.ndjson');
    const run = await runCli(['serve'], {
      env: { ...base, LOG_FILE: logFile, DATABASE_URL: `postgres://postgres:${password}@127.0.0.1:9/test`, FHIR_TOKEN },
      timeoutMs: 60_000,
    });
    const text = `${run.stdout}\n${run.stderr}\n${existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''}`;
    expect(run.status).not.toBe(0);
    expect(text).not.toContain(password);
    expect(leaks(text)).toEqual([]);
    console.log(`serve with a refused database: exit ${run.status}; stderr: ${run.stderr.slice(0, 300)}`);
  }, 70_000);
});
