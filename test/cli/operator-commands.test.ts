/**
 * The command line as an operator meets it (#12 items 11 and 12), through the real `irecist-adapter` process: help
 * and errors for every command, `assess -`, results alone on stdout with every log line on stderr, and `replay`
 * against a running service (the authenticated admin API) or its stopped database, refusing clearly when there is
 * nothing to read.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdapterProcess, adapterProcess } from '../chaos/adapter-process.ts';
import { type MisbehavingFhirServer, startMisbehavingFhirServer } from '../chaos/misbehaving-fhir-server.ts';
import { notify, startSandboxServer, waitFor } from '../e2e/harness.ts';
import { ROOT, runCli } from './run-cli.ts';

const COMMANDS = ['assess', 'serve', 'subscribe', 'backfill', 'replay'];
const ADMIN_TOKEN = 'operator-admin-token-0123456789';
/** Log lines to stderr, at every level (the suite otherwise sends them to a file). */
const LOGS_ON_STDERR = { LOG_FILE: '', LOG_LEVEL: 'trace' };

describe('help and errors', () => {
  it('--help lists every command with its summary', async () => {
    const run = await runCli(['--help']);
    expect(run.status).toBe(0);
    for (const name of COMMANDS) expect(run.stdout).toMatch(new RegExp(`^  ${name} +\\S`, 'm'));
    expect(run.stderr).toBe('');
  });

  it.each(COMMANDS)('%s --help: its usage and options on stdout, exit 0', async (name) => {
    const run = await runCli([name, '--help']);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^Usage: irecist-adapter ${name}\\b`));
    expect(run.stdout).toContain('-h, --help');
  });

  it.each(COMMANDS)('%s --bogus: "unknown option --bogus", exit 2, nothing started', async (name) => {
    const run = await runCli([name, '--bogus', ...(name === 'assess' ? ['x.json'] : [])]);
    expect(run.status).toBe(2);
    expect(run.stderr.split('\n')[0]).toBe('error: unknown option --bogus');
    expect(run.stderr).toContain(`Run 'irecist-adapter ${name} --help' for more.`);
    expect(run.stderr).not.toMatch(/Internal error|\n\s+at /);
  });

  it('an unknown command, or none: the list of commands on stderr, exit 2', async () => {
    const unknown = await runCli(['bogus']);
    expect([unknown.status, unknown.stderr.split('\n')[0]]).toEqual([2, 'error: unknown command bogus']);
    expect(unknown.stderr).toContain('Commands:');
    const none = await runCli([]);
    expect([none.status, none.stderr.split('\n')[0]]).toEqual([2, 'error: no command given']);
  });

  it.each<[string, string[], string]>([
    ['a missing input folder', ['backfill', '--input', '../x', '--output', 'out'], 'input folder ../x does not exist'],
    ['an option without its value', ['backfill', '--input', '--output', 'out'], 'option --input needs a value (DIR)'],
    ['a missing required option', ['backfill', '--input', 'samples'], 'option --output DIR is required'],
    [
      'a value outside the choices',
      ['replay', '--kind', 'nope'],
      'option --kind must be one of assess-patient, resolve-resource, catch-up (not nope)',
    ],
  ])('%s: says what is wrong', async (_name, args, message) => {
    const run = await runCli(args);
    expect(run.status).toBe(2);
    expect(run.stderr.split('\n')[0]).toBe(`error: ${message}`);
  });
});

describe('assess -', () => {
  it('reads the Bundle from standard input: the same result as from the file', async () => {
    const file = join(ROOT, 'samples/cases/pseudoprogression.bundle.json');
    const fromFile = await runCli(['assess', file]);
    const fromStdin = await runCli(['assess', '-'], { input: readFileSync(file) });
    expect([fromFile.status, fromStdin.status]).toEqual([0, 0]);
    const stamp = (text: string) => text.replace(/"recorded": "[^"]+"/g, '"recorded": "(when)"');
    expect(stamp(fromStdin.stdout)).toBe(stamp(fromFile.stdout));
    expect(fromStdin.stderr).toBe(fromFile.stderr);
  });

  it('bad input on standard input: exit 2 and an OperationOutcome', async () => {
    const run = await runCli(['assess', '-'], { input: '{"resourceType": "Bundle", "type": ' });
    expect(run.status).toBe(2);
    expect(JSON.parse(run.stdout).issue[0].details.text).toBe('Input is not valid JSON');
  });
});

describe('subscribe: the result alone on stdout, log lines on stderr', () => {
  let fhir: Awaited<ReturnType<typeof startSandboxServer>>;
  beforeAll(async () => {
    fhir = await startSandboxServer();
  });
  afterAll(async () => {
    await fhir?.close();
  });

  it('stdout parses as JSON while every level is logged', async () => {
    const run = await runCli(['subscribe'], {
      env: {
        ...LOGS_ON_STDERR,
        FHIR_BASE_URL: fhir.baseUrl,
        WEBHOOK_SECRET: 'a-webhook-secret-of-some-length',
        PUBLIC_URL: 'https://adapter.example.org',
      },
    });
    expect(run.status).toBe(0);
    expect(JSON.parse(run.stdout).created).toHaveLength(4);
    expect(run.stderr).toMatch(/^\{"level":\d+.*"msg":"Subscription registration done"/m);
  });
});

describe('replay', () => {
  it('nothing to read (no database in DATA_DIR, no service): exit 1, says so, creates nothing', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'replay-')), 'never-used');
    const run = await runCli(['replay', '--list'], { env: { DATA_DIR: dataDir } });
    expect(run.status).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr.trim()).toBe(
      `error: Nothing to read: ${dataDir} holds no irecist-adapter database (DATA_DIR; no service has run with it)`,
    );
    expect(existsSync(dataDir)).toBe(false);
  });

  describe('against a running service on PGlite, with a dead letter', () => {
    let fhir: MisbehavingFhirServer;
    let adapter: AdapterProcess;
    let dataDir: string;
    const env = () => ({ DATA_DIR: dataDir, ADMIN_TOKEN, PORT: new URL(adapter.url).port });

    beforeAll(async () => {
      fhir = await startMisbehavingFhirServer();
      // Every context read refused for good (the batch, then the one-by-one reads): dead-lettered at once.
      for (const kind of ['read', 'other'] as const) {
        fhir.fail({ kind, times: Number.POSITIVE_INFINITY }, { do: 'status', status: 400 });
      }
      dataDir = mkdtempSync(join(tmpdir(), 'replay-live-'));
      adapter = await adapterProcess({
        fhirBaseUrl: fhir.baseUrl,
        database: { kind: 'pglite', dataDir },
        env: { ADMIN_TOKEN, HOST: '0.0.0.0' },
      });
      await adapter.start();
      const res = await notify(adapter.url, {
        headers: { 'content-type': 'application/fhir+json' },
        body: { resourceType: 'Patient', id: 'replay-p1' },
      });
      expect(res.status).toBe(200);
      const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
      await waitFor(
        async () =>
          ((await (await fetch(`${adapter.url}/admin/queue`, { headers: admin })).json()) as { deadLettered: number })
            .deadLettered === 1,
        'the dead letter',
        30_000,
      );
    }, 120_000);
    afterAll(async () => {
      await adapter?.stop();
      await fhir?.close();
    });

    it('--list asks the service: JSON on stdout (parsable, every log line on stderr)', async () => {
      const run = await runCli(['replay', '--list'], { env: { ...env(), ...LOGS_ON_STDERR } });
      expect(run.status).toBe(0);
      expect(JSON.parse(run.stdout)).toEqual([
        expect.objectContaining({ kind: 'assess-patient', attempts: 1, payload: { patientId: 'replay-p1' } }),
      ]);
    });

    it('without ADMIN_TOKEN the database is in use: exit 1, names the process and the way', async () => {
      const run = await runCli(['replay', '--list'], { env: { DATA_DIR: dataDir } });
      expect(run.status).toBe(1);
      expect(run.stderr).toContain(
        `error: Data directory ${dataDir} is in use by another process (pid ${adapter.pid})`,
      );
      expect(run.stderr).toContain('set ADMIN_TOKEN');
    });

    it.each<[string, number, Record<string, string>]>([
      ['no token', 401, {}],
      ['a wrong token', 401, { authorization: 'Bearer not-the-admin-token-at-all' }],
    ])('the admin API refuses %s: %i and an OperationOutcome', async (_name, status, headers) => {
      const res = await fetch(`${adapter.url}/admin/dead-letters`, { headers });
      expect(res.status).toBe(status);
      expect(((await res.json()) as { resourceType: string }).resourceType).toBe('OperationOutcome');
    });

    it('the admin API answers loopback peers only, even with the right token', async () => {
      const external = Object.values((await import('node:os')).networkInterfaces())
        .flat()
        .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
      expect(external, 'this test needs a non-loopback IPv4 address').toBeDefined();
      const res = await fetch(`http://${external}:${new URL(adapter.url).port}/admin/queue`, {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      expect(res.status).toBe(403);
    });

    it('replay re-queues through the service: {"replayed": 1} on stdout', async () => {
      const run = await runCli(['replay', '--kind', 'assess-patient'], { env: env() });
      expect(run.status).toBe(0);
      expect(JSON.parse(run.stdout)).toEqual({ replayed: 1 });
      expect(run.stderr).toContain('1 dead-lettered job(s) re-queued.');
    });
  });
});

describe('replay with a token while no service runs: reads the stopped database', () => {
  it('says so and lists what is there', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'replay-stopped-'));
    const fhir = await startSandboxServer();
    const adapter = await adapterProcess({ fhirBaseUrl: fhir.baseUrl, database: { kind: 'pglite', dataDir } });
    try {
      await adapter.start();
      await adapter.stop();
      const run = await runCli(['replay', '--list'], {
        env: { DATA_DIR: dataDir, ADMIN_TOKEN, PORT: new URL(adapter.url).port },
        timeoutMs: 60_000,
      });
      expect(run.status).toBe(0);
      expect(JSON.parse(run.stdout)).toEqual([]);
      expect(run.stderr).toContain(
        `no irecist-adapter service answers at ${adapter.url}; reading the database itself.`,
      );
    } finally {
      await adapter.stop();
      await fhir.close();
    }
  }, 120_000);
});
