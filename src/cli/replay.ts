/** `irecist-adapter replay [--kind KIND] [--patient ID]`: re-queues dead-lettered jobs for the running workers. */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config.ts';
import { openDatabase } from '../queue/database.ts';
import { createJobQueue } from '../queue/job-queue.ts';
import { JOB_KINDS, type JobKind } from '../queue/jobs.ts';
import type { CliIo } from './assess.ts';
import { commandError, issueText } from './report-error.ts';

export async function runReplay(args: string[], io: CliIo): Promise<number> {
  try {
    const { values } = parseArgs({
      args,
      options: { kind: { type: 'string' }, patient: { type: 'string' }, list: { type: 'boolean' } },
    });
    if (values.kind && !(JOB_KINDS as readonly string[]).includes(values.kind)) {
      io.stderr(`--kind must be one of ${JOB_KINDS.join(', ')}\n`);
      return 2;
    }
    const config = loadConfig();
    const db = await openDatabase({ databaseUrl: config.database.url, dataDir: config.database.dataDir });
    const queue = await createJobQueue(db);
    try {
      if (values.list) {
        const letters = await queue.listDeadLetters({ kind: values.kind as JobKind | undefined });
        io.stdout(
          `${JSON.stringify(
            letters.map(({ id, kind, attempts, deadLetteredAt }) => ({ id, kind, attempts, deadLetteredAt })),
            null,
            2,
          )}\n`,
        );
        return 0;
      }
      const n = await queue.replayDeadLetters({ kind: values.kind as JobKind | undefined, patientId: values.patient });
      io.stderr(`${n} dead-lettered job(s) re-queued.\n`);
      return 0;
    } finally {
      await queue.stop({ graceful: false, timeoutMs: 1000 });
      await db.close();
    }
  } catch (err) {
    if (err instanceof ConfigError) {
      io.stderr(`${err.message}\n`);
      return 2;
    }
    io.stderr(`error: ${issueText(commandError(err, 'replay'))}\n`);
    return 1;
  }
}
