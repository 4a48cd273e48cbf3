/**
 * `irecist-adapter backfill --input DIR --output DIR`: a Bulk Data export (NDJSON per resource type) in, NDJSON
 * of the resources to write out (one file per type), with a progress bar. Runs the same pipeline as the service.
 * Output resources get ids from their deterministic urn:uuid, and references between them are rewritten to match,
 * so the files can be loaded with $import or a plain PUT per line.
 */
import { createReadStream } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Resource } from '@medplum/fhirtypes';
import cliProgress from 'cli-progress';
import { isObject, parseJsonOrUndefined } from '../fhir-model/json.ts';
import { patientIdOf } from '../fhir-model/resource-owner.ts';
import { assessResources } from '../pipeline/assess-resources.ts';
import { requireFolder } from './check-paths.ts';
import { type CliIo, type Command, type CommandSpec, runCommand } from './command-line.ts';
import { commandError, issueText } from './report-error.ts';

const spec = {
  name: 'backfill',
  summary: 'assess a Bulk Data export (NDJSON per type); NDJSON of the resources to write out',
  description:
    'Every patient of the export is assessed by the same pipeline as the service. The output folder gets one NDJSON\n' +
    'file per resource type, ids from their urn:uuid and references rewritten to match ($import or PUT per line).',
  options: {
    input: { type: 'string', value: 'DIR', description: 'the export: *.ndjson files', required: true },
    output: {
      type: 'string',
      value: 'DIR',
      description: 'where the NDJSON to write goes (made if missing)',
      required: true,
    },
  },
  examples: ['npx irecist-adapter backfill --input ./export --output ./results'],
} as const satisfies CommandSpec;

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

/** Gives each output resource the id of its urn:uuid and rewrites references between them. */
function toPlainResources(entries: { fullUrl?: string; resource?: Resource }[]): Resource[] {
  const ids = new Map<string, string>();
  for (const e of entries) {
    if (e.fullUrl?.startsWith('urn:uuid:') && e.resource)
      ids.set(e.fullUrl, `${e.resource.resourceType}/${e.resource.id ?? e.fullUrl.slice(9)}`);
  }
  return entries.flatMap((e) => {
    if (!e.resource) return [];
    const text = JSON.stringify(e.resource).replace(/"reference":"(urn:uuid:[0-9a-f-]+)"/g, (m, u: string) =>
      ids.has(u) ? `"reference":"${ids.get(u)}"` : m,
    );
    const resource = JSON.parse(text) as Resource;
    return [{ ...resource, id: resource.id ?? e.fullUrl?.slice(9) } as Resource];
  });
}

async function backfill(values: { input: string; output: string }, io: CliIo): Promise<number> {
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

/** `irecist-adapter backfill --input DIR --output DIR`. */
export const backfillCommand: Command = {
  spec,
  run: (args, io) =>
    runCommand(spec, args, io, ({ values }) => backfill(values as { input: string; output: string }, io)),
};
