/**
 * The PGlite data directory at start-up (#12 item 13), through the real `irecist-adapter serve`: a missing or damaged
 * database is one clear message naming what was found and where (exit 1, nothing made over it); a lock left by a
 * process that is gone (a zombie, or a pid now used by another process) does not block a restart, while a live
 * owner's lock does.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adapterProcess, freePort } from '../chaos/adapter-process.ts';
import { type SandboxServer, startSandboxServer, WEBHOOK_SECRET } from '../e2e/harness.ts';
import { runCli } from './run-cli.ts';

let fhir: SandboxServer;
/** A data directory a service has run with (database and manifest), copied for each case. */
let pristine: string;

beforeAll(async () => {
  fhir = await startSandboxServer();
  pristine = mkdtempSync(join(tmpdir(), 'data-dir-pristine-'));
  const adapter = await adapterProcess({ fhirBaseUrl: fhir.baseUrl, database: { kind: 'pglite', dataDir: pristine } });
  await adapter.start();
  await adapter.stop();
  expect(existsSync(join(pristine, 'pglite', 'PG_VERSION'))).toBe(true);
  expect(existsSync(join(pristine, 'irecist-adapter.json'))).toBe(true);
}, 120_000);
afterAll(async () => {
  await fhir?.close();
});

function copyOfPristine(): string {
  const dir = mkdtempSync(join(tmpdir(), 'data-dir-case-'));
  cpSync(pristine, dir, { recursive: true });
  return dir;
}

const serve = async (dataDir: string) =>
  runCli(['serve'], {
    env: { DATA_DIR: dataDir, FHIR_BASE_URL: fhir.baseUrl, WEBHOOK_SECRET, PORT: String(await freePort()) },
    timeoutMs: 60_000,
  });

describe('what is found in DATA_DIR, said plainly: exit 1', () => {
  it.each<[string, (dir: string) => void, (dir: string) => string]>([
    [
      'the database folder deleted while the manifest says one was made',
      (dir) => rmSync(join(dir, 'pglite'), { recursive: true }),
      (dir) =>
        `The queue database ${dir}/pglite is missing, but ${dir} held one (made ${JSON.parse(readFileSync(join(dir, 'irecist-adapter.json'), 'utf8')).made}): the jobs queued there are lost. Restore ${dir}/pglite from a backup, or delete ${dir}/irecist-adapter.json to start with an empty queue.`,
    ],
    [
      'PG_VERSION gone (PGlite would make an empty database over the rest)',
      (dir) => rmSync(join(dir, 'pglite', 'PG_VERSION')),
      (dir) =>
        `The queue database in ${dir}/pglite is damaged: PG_VERSION is missing (PGlite would make an empty database over it). Restore it from a backup, or move it away to start with an empty queue.`,
    ],
    [
      'a damaged control file',
      (dir) => writeFileSync(join(dir, 'pglite', 'global', 'pg_control'), 'garbage'),
      (dir) =>
        `The queue database in ${dir}/pglite could not be opened; it looks damaged (RuntimeError). Restore it from a backup, or move it away to start with an empty queue.`,
    ],
  ])('%s', async (_name, damage, message) => {
    const dir = copyOfPristine();
    damage(dir);
    const expected = message(dir);
    const run = await serve(dir);
    expect(run.status).toBe(1);
    expect(run.stderr.trim().split('\n').at(-1)).toBe(`irecist-adapter could not start: ${expected}`);
    expect(run.stderr).not.toMatch(/\n\s+at /);
    if (!existsSync(join(dir, 'pglite', 'global'))) expect(existsSync(join(dir, 'pglite'))).toBe(false);
  });
});

/** A process whose pid the test controls, and one that is a zombie (its parent never reaps it). */
async function processes(): Promise<{ live: ChildProcess; zombiePid: number }> {
  // The inner shell prints its pid and exits; its parent has become `sleep`, which never waits for children.
  const live = spawn('sh', ['-c', 'sh -c "echo \\$\\$" & exec sleep 60'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const zombiePid = await new Promise<number>((resolve) =>
    live.stdout?.once('data', (b: Buffer) => resolve(Number(b.toString()))),
  );
  for (let i = 0; i < 100 && procState(zombiePid) !== 'Z'; i++) await new Promise((r) => setTimeout(r, 50));
  expect(procState(zombiePid)).toBe('Z');
  return { live, zombiePid };
}

function procStat(pid: number): string[] {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
}
const procState = (pid: number): string | undefined => (existsSync(`/proc/${pid}`) ? procStat(pid)[0] : undefined);
const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();

describe('a lock left behind', () => {
  let live: ChildProcess;
  let zombiePid: number;
  beforeAll(async () => {
    ({ live, zombiePid } = await processes());
  });
  afterAll(() => {
    live?.kill('SIGKILL');
  });

  it.each<[string, () => string]>([
    [
      'by a process that is now a zombie',
      () => JSON.stringify({ pid: zombiePid, start: procStat(zombiePid)[19], boot: bootId }),
    ],
    [
      'by a pid now used by another process (another start time)',
      () => JSON.stringify({ pid: live.pid, start: '1', boot: bootId }),
    ],
    [
      'before the last reboot',
      () => JSON.stringify({ pid: live.pid, start: procStat(live.pid!)[19], boot: 'another-boot' }),
    ],
  ])(
    '%s does not block a restart',
    async (_name, lock) => {
      const dir = copyOfPristine();
      writeFileSync(join(dir, 'pglite.lock'), lock());
      const adapter = await adapterProcess({ fhirBaseUrl: fhir.baseUrl, database: { kind: 'pglite', dataDir: dir } });
      await adapter.start();
      await adapter.stop(90_000);
      // Whatever the stop left behind (its lock removed, or left by an exit the harness saw first), the directory
      // opens again: the lock it holds now names a process that is gone.
      const again = await adapterProcess({ fhirBaseUrl: fhir.baseUrl, database: { kind: 'pglite', dataDir: dir } });
      await again.start();
      await again.stop(90_000);
    },
    120_000,
  );

  it.each<[string, () => string]>([
    [
      'by a live process (its pid, start time and boot)',
      () => JSON.stringify({ pid: live.pid, start: procStat(live.pid!)[19], boot: bootId }),
    ],
    ['by a live process, in the older pid-only form', () => String(live.pid)],
  ])('%s blocks it: exit 1, naming the directory and the pid', async (_name, lock) => {
    const dir = copyOfPristine();
    writeFileSync(join(dir, 'pglite.lock'), lock());
    const run = await serve(dir);
    expect(run.status).toBe(1);
    expect(run.stderr.trim().split('\n').at(-1)).toBe(
      `irecist-adapter could not start: Data directory ${dir} is in use by another process (pid ${live.pid})`,
    );
  });
});
