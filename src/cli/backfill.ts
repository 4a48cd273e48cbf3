/**
 * `irecist-adapter backfill`: every patient already on the server assessed once.
 * - `--from-server`: a Bulk Data export on FHIR_BASE_URL, staged in the database, every patient assessed and written
 *   back by the worker's code, resumable (backfill-from-server.ts, src/backfill);
 * - `--input DIR --output DIR`: an export already on disk (NDJSON per resource type) in, NDJSON of the resources to
 *   write out (one file per type), ids from their deterministic urn:uuid and references rewritten to match.
 * https://hl7.org/fhir/uv/bulkdata/export.html
 */
import { createReadStream } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Resource } from '@medplum/fhirtypes';
import cliProgress from 'cli-progress';
import { contextResourceTypes } from '../backfill/context-types.ts';
import { toPlainResources } from '../backfill/ndjson-output.ts';
import type { BackfillRequest } from '../backfill/run-backfill.ts';
import { isFhirInstant } from '../fhir-model/dates.ts';
import { isFhirId } from '../fhir-model/ids.ts';
import { isObject, parseJsonOrUndefined } from '../fhir-model/json.ts';
import { patientIdOf } from '../fhir-model/resource-owner.ts';
import { assessResources } from '../pipeline/assess-resources.ts';
import { backfillFromServer } from './backfill-from-server.ts';
import { requireFolder } from './check-paths.ts';
import {
  type CliIo,
  type Command,
  type CommandSpec,
  type OptionValues,
  runCommand,
  UsageError,
} from './command-line.ts';
import { commandError, issueText } from './report-error.ts';

const spec = {
  name: 'backfill',
  summary: 'assess every patient already on the server (Bulk Data export), or an export on disk',
  description:
    'With --from-server: a Bulk Data $export on FHIR_BASE_URL (system level unless --group or --patient-level),\n' +
    'staged in the database (DATABASE_URL, else PGlite in DATA_DIR), every patient assessed by the same code as the\n' +
    'service and written back. Stopped (Ctrl-C, a crash), it resumes where it stopped when run again with the same\n' +
    'options; each result is written once. --dry-run writes NDJSON to --output instead of to the server.\n' +
    'With --input: an export on disk (*.ndjson) in, one NDJSON file per resource type to write out.',
  options: {
    'from-server': { type: 'boolean', description: 'export from FHIR_BASE_URL (Bulk Data) and write results back' },
    group: { type: 'string', value: 'ID', description: 'export Group/ID/$export (its members only)' },
    'patient-level': { type: 'boolean', description: 'export Patient/$export (every patient) instead of $export' },
    since: { type: 'string', value: 'INSTANT', description: 'only patients with changes after this (_since)' },
    'dry-run': { type: 'boolean', description: 'write nothing to the server: NDJSON of the results to --output' },
    restart: { type: 'boolean', description: 'discard an unfinished backfill in the database and start afresh' },
    concurrency: { type: 'string', value: 'N', description: 'patients assessed at once (default 4)' },
    input: { type: 'string', value: 'DIR', description: 'an export on disk: *.ndjson files' },
    output: { type: 'string', value: 'DIR', description: 'where the NDJSON to write goes (made if missing)' },
  },
  environment: [
    'FHIR_BASE_URL, FHIR_AUTH_*  the server to export from and write to, and its auth (as for serve)',
    'DATABASE_URL, DATA_DIR      where the backfill keeps its state (as for serve)',
  ],
  examples: [
    'FHIR_BASE_URL=https://fhir.example.org/R4 npx irecist-adapter backfill --from-server --group oncology',
    'npx irecist-adapter backfill --from-server --dry-run --output ./results',
    'npx irecist-adapter backfill --input ./export --output ./results',
  ],
} as const satisfies CommandSpec;

type Values = OptionValues<typeof spec>;

/** The export a --from-server backfill asks for, from the options (refused when they contradict each other). */
function requestOf(values: Values): BackfillRequest {
  if (values.group !== undefined && values['patient-level'])
    throw new UsageError('--group and --patient-level cannot be used together');
  if (values.group !== undefined && !isFhirId(values.group))
    throw new UsageError(`--group ${values.group} is not a FHIR id`);
  if (values.since !== undefined && !isFhirInstant(values.since))
    throw new UsageError(`--since ${values.since} is not a FHIR instant (e.g. 2026-01-31T00:00:00Z)`);
  const level: BackfillRequest['level'] =
    values.group !== undefined
      ? { kind: 'group', groupId: values.group }
      : values['patient-level']
        ? { kind: 'patient' }
        : { kind: 'system' };
  return { level, types: contextResourceTypes(), ...(values.since !== undefined ? { since: values.since } : {}) };
}

function concurrencyOf(value: string | undefined): number {
  if (value === undefined) return 4;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 64)
    throw new UsageError(`--concurrency ${value} is not a whole number from 1 to 64`);
  return n;
}

async function run(values: Values, io: CliIo): Promise<number> {
  if (values['from-server']) {
    if (values.input !== undefined) throw new UsageError('--input cannot be used with --from-server');
    if (values['dry-run'] && values.output === undefined) throw new UsageError('--dry-run needs --output DIR');
    if (!values['dry-run'] && values.output !== undefined)
      throw new UsageError('--output is for --dry-run (without it the results are written to the server)');
    return backfillFromServer(
      {
        request: requestOf(values),
        dryRun: values['dry-run'] === true,
        restart: values.restart === true,
        concurrency: concurrencyOf(values.concurrency),
        ...(values.output !== undefined ? { output: values.output } : {}),
      },
      io,
    );
  }
  const serverOnly = (['group', 'patient-level', 'since', 'dry-run', 'restart', 'concurrency'] as const).find(
    (name) => values[name] !== undefined,
  );
  if (serverOnly) throw new UsageError(`--${serverOnly} needs --from-server`);
  if (values.input === undefined) throw new UsageError('option --input DIR is required (or --from-server)');
  if (values.output === undefined) throw new UsageError('option --output DIR is required');
  return backfillFiles({ input: values.input, output: values.output }, io);
}

async function readNdjson(
  dir: string,
  io: CliIo,
): Promise<{ byPatient: Map<string, Resource[]>; shared: Resource[]; bad: number }> {
  const byPatient = new Map<string, Resource[]>();
  const shared: Resource[] = [];
  let bad = 0;
  const files = (await readdir(dir)).filter((f) => f.endsWith('.ndjson')).sort();
  for (const file of files) {
    const lines = createInterface({ input: createReadStream(join(dir, file)), crlfDelay: Number.POSITIVE_INFINITY });
    let n = 0;
    for await (const line of lines) {
      n++;
      if (!line.trim()) continue;
      const r = parseJsonOrUndefined(line);
      if (!isObject(r) || typeof r.resourceType !== 'string' || typeof r.id !== 'string') {
        bad++;
        io.stderr(`${file}:${n}: not a FHIR resource with an id; skipped\n`);
        continue;
      }
      const resource = r as unknown as Resource;
      const patientId = patientIdOf(resource);
      const owner = patientId ? `Patient/${patientId}` : undefined;
      if (!owner) shared.push(resource);
      else byPatient.set(owner, [...(byPatient.get(owner) ?? []), resource]);
    }
  }
  return { byPatient, shared, bad };
}

async function backfillFiles(values: { input: string; output: string }, io: CliIo): Promise<number> {
  await requireFolder(values.input, 'input folder');
  try {
    const { byPatient, shared, bad } = await readNdjson(values.input, io);
    const out = new Map<string, string[]>();
    const bar = new cliProgress.SingleBar(
      {
        stream: process.stderr,
        format: 'backfill [{bar}] {value}/{total} patients | {eta_formatted} left',
        hideCursor: true,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(byPatient.size, 0);
    let failed = 0;
    for (const [patient, resources] of [...byPatient].sort(([a], [b]) => a.localeCompare(b))) {
      try {
        const { transaction } = assessResources([...resources, ...shared]);
        for (const r of toPlainResources(transaction.entry ?? [])) {
          out.set(r.resourceType, [...(out.get(r.resourceType) ?? []), JSON.stringify(r)]);
        }
      } catch (err) {
        failed++;
        io.stderr(`\n${patient}: ${issueText(commandError(err, 'backfill'))}\n`);
      }
      bar.increment();
    }
    bar.stop();
    await mkdir(values.output, { recursive: true });
    for (const [type, lines] of [...out].sort())
      await writeFile(join(values.output, `${type}.ndjson`), `${lines.join('\n')}\n`);
    io.stderr(
      `${byPatient.size} patient(s) assessed, ${failed} failed, ${bad} unreadable line(s); wrote ${[...out].map(([t, l]) => `${l.length} ${t}`).join(', ') || 'nothing'} to ${values.output}\n`,
    );
    return failed > 0 || bad > 0 ? 1 : 0;
  } catch (err) {
    io.stderr(`error: ${issueText(commandError(err, 'backfill'))}\n`);
    return 2;
  }
}

/** `irecist-adapter backfill`. */
export const backfillCommand: Command = {
  spec,
  run: (args, io) => runCommand(spec, args, io, ({ values }) => run(values, io)),
};
