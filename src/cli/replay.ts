/**
 * `irecist-adapter replay [--list] [--kind K] [--patient ID] [--id ID]...`: lists or re-queues dead-lettered jobs.
 * With ADMIN_TOKEN it asks the running service (the operator API, admin-client.ts); when no service answers, or
 * without a token, it opens the database itself: PostgreSQL (DATABASE_URL) at any time, PGlite (DATA_DIR) only while
 * no service holds it, and never creating one ("nothing to read" when DATA_DIR holds none).
 * Results (JSON) on stdout, everything for a person on stderr.
 */
import { type Config, ConfigError, loadConfig } from '../config.ts';
import { openDatabase } from '../queue/database.ts';
import { createJobQueue, type DeadLetter, type ReplayFilter } from '../queue/job-queue.ts';
import { JOB_KINDS } from '../queue/jobs.ts';
import { adminBaseUrl, adminCall, ServiceNotRunning } from './admin-client.ts';
import { type CliIo, type Command, type CommandSpec, type OptionValues, runCommand } from './command-line.ts';
import { commandError, issueText } from './report-error.ts';

const spec = {
  name: 'replay',
  summary: 'list or re-queue dead-lettered jobs (through the running service, or its stopped database)',
  description:
    'With ADMIN_TOKEN set (as for the service) it asks the running service; when none answers, or without a token,\n' +
    'it reads the database itself: PostgreSQL any time, PGlite only while the service is stopped.',
  options: {
    list: { type: 'boolean', description: 'list the dead letters (JSON on stdout) instead of re-queueing them' },
    kind: { type: 'string', value: 'KIND', description: 'only this kind of job', choices: JOB_KINDS },
    patient: { type: 'string', value: 'ID', description: "only this patient's assessments" },
    id: {
      type: 'string',
      value: 'ID',
      description: 'only this dead letter (an id from --list); repeatable',
      multiple: true,
    },
    url: {
      type: 'string',
      value: 'URL',
      description: 'the running service (default ADMIN_URL, else http://127.0.0.1:PORT)',
    },
  },
  environment: [
    "ADMIN_TOKEN            the service's operator API token: replay asks the running service",
    'ADMIN_URL              where the service is (default http://127.0.0.1:PORT)',
    'DATABASE_URL, DATA_DIR the database, when no service answers',
  ],
  examples: ['npx irecist-adapter replay --list | jq .', 'npx irecist-adapter replay --kind assess-patient'],
} as const satisfies CommandSpec;

type Values = OptionValues<typeof spec>;
type Listed = Pick<DeadLetter, 'id' | 'kind' | 'attempts' | 'deadLetteredAt' | 'payload'>;

/** What one replay does, wherever the queue is. */
interface QueueAccess {
  list(kind: Values['kind']): Promise<Listed[]>;
  replay(filter: ReplayFilter): Promise<number>;
  close(): Promise<void>;
}

function viaService(baseUrl: string, token: string): QueueAccess {
  return {
    list: async (kind) =>
      (await adminCall(
        baseUrl,
        token,
        `/admin/dead-letters${kind ? `?kind=${encodeURIComponent(kind)}` : ''}`,
      )) as Listed[],
    replay: async (filter) =>
      ((await adminCall(baseUrl, token, '/admin/replay', filter)) as { replayed: number }).replayed,
    close: async () => undefined,
  };
}

async function viaDatabase(config: Config): Promise<QueueAccess> {
  const db = await openDatabase({
    databaseUrl: config.database.url,
    dataDir: config.database.dataDir,
    mustExist: true,
  });
  try {
    const queue = await createJobQueue(db);
    return {
      list: async (kind) =>
        (await queue.listDeadLetters({ kind })).map(({ id, kind: k, attempts, deadLetteredAt, payload }) => ({
          id,
          kind: k,
          attempts,
          deadLetteredAt,
          payload,
        })),
      replay: (filter) => queue.replayDeadLetters(filter),
      close: async () => {
        await queue.stop({ graceful: false, timeoutMs: 1000 });
        await db.close();
      },
    };
  } catch (err) {
    await db.close();
    throw err;
  }
}

/** The running service when a token is set and it answers; else the database. */
async function queueAccess(config: Config, values: Values, io: CliIo): Promise<QueueAccess> {
  const token = config.exposure.admin.token;
  if (token) {
    const baseUrl = adminBaseUrl(values.url, process.env);
    try {
      await adminCall(baseUrl, token, '/admin/queue');
      return viaService(baseUrl, token);
    } catch (err) {
      if (!(err instanceof ServiceNotRunning)) throw err;
      io.stderr(`${err.message}; reading the database itself.\n`);
    }
  } else if (values.url) {
    io.stderr('--url needs ADMIN_TOKEN (the token the service was started with); reading the database itself.\n');
  }
  return viaDatabase(config);
}

async function replay(values: Values, io: CliIo): Promise<number> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.stderr(`${err.message}\n`);
    return 2;
  }
  let access: QueueAccess;
  try {
    access = await queueAccess(config, values, io);
  } catch (err) {
    const text = isOutcome(err) ? issueText(commandError(err, 'replay')) : (err as Error).message;
    const hint = / is in use by /.test(text)
      ? '\nThe service holds it: set ADMIN_TOKEN (as for the service) and replay asks the running service.'
      : '';
    io.stderr(`error: ${text}${hint}\n`);
    return 1;
  }
  try {
    if (values.list) {
      io.stdout(`${JSON.stringify(await access.list(values.kind), null, 2)}\n`);
      return 0;
    }
    const filter: ReplayFilter = {
      ...(values.kind ? { kind: values.kind } : {}),
      ...(values.patient ? { patientId: values.patient } : {}),
      ...(values.id ? { ids: values.id } : {}),
    };
    const replayed = await access.replay(filter);
    io.stdout(`${JSON.stringify({ replayed })}\n`);
    io.stderr(`${replayed} dead-lettered job(s) re-queued.\n`);
    return 0;
  } catch (err) {
    io.stderr(`error: ${isOutcome(err) ? issueText(commandError(err, 'replay')) : (err as Error).message}\n`);
    return 1;
  } finally {
    await access.close();
  }
}

const isOutcome = (err: unknown): boolean => (err as { outcome?: unknown } | null)?.outcome !== undefined;

/** `irecist-adapter replay`. */
export const replayCommand: Command = {
  spec,
  run: (args, io) => runCommand(spec, args, io, ({ values }) => replay(values, io)),
};
