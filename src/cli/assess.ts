/**
 * `irecist-adapter assess FILE`: the transaction Bundle on stdout, a readable timeline on stderr
 * (contract section 3). Bad input: exit 2, an OperationOutcome on stdout, a one-line reason on stderr.
 */
import { readFile } from 'node:fs/promises';
import type { Assessment } from '../domain/assess.ts';
import { parseJsonSafely } from '../fhir-model/json.ts';
import { badRequest, OutcomeError, outcome } from '../fhir-model/outcomes.ts';
import { MAX_ISSUE_TEXT, printable } from '../mapping/printable.ts';
import { timelineTable } from '../mapping/timeline-table.ts';
import { assessBundle } from '../pipeline/assess-resources.ts';
import { requireFile } from './check-paths.ts';
import { type CliIo, type Command, type CommandSpec, runCommand, UsageError } from './command-line.ts';
import { commandError, issueText } from './report-error.ts';

export type { CliIo } from './command-line.ts';

/** Largest input `assess` reads (a Bundle of one patient's history is far smaller). */
export const MAX_FILE_BYTES = 256 * 1024 * 1024;
const TOO_LARGE = 'Input is larger than 256 MiB';

const spec = {
  name: 'assess',
  summary: "assess one patient's Bundle; the transaction Bundle the service would write on stdout",
  description:
    "The Bundle (collection, transaction, batch or searchset) holds one patient's resources. The timeline and every\n" +
    'data-quality note go to stderr. Bad input: exit 2, an OperationOutcome on stdout and one line on stderr.',
  positionals: [{ name: 'FILE', description: 'the Bundle (JSON); - reads standard input', required: true }],
  examples: [
    'npx irecist-adapter assess samples/cases/pseudoprogression.bundle.json > out.json',
    'curl -s "$FHIR/Patient/p1/$everything" | npx irecist-adapter assess -',
  ],
} as const satisfies CommandSpec;

/** Reads all of standard input, refusing more than MAX_FILE_BYTES. */
async function readStream(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
    size += buffer.length;
    if (size > MAX_FILE_BYTES) throw badRequest(TOO_LARGE);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

async function readInput(file: string, io: CliIo): Promise<string> {
  if (file === '-') return (await readStream(io.stdin ?? process.stdin)).toString('utf8');
  await requireFile(file, 'input file');
  let buffer: Buffer;
  try {
    buffer = await readFile(file);
  } catch (err) {
    throw new OutcomeError(outcome('not-found', 'Input file cannot be read'), 404, { cause: err });
  }
  if (buffer.length > MAX_FILE_BYTES) throw badRequest(TOO_LARGE);
  return buffer.toString('utf8');
}

/**
 * Every data-quality note, one line each, whether or not any report was written (a baseline only, or one unusable
 * measurement, still says what was not used).
 */
function qualityNotes(a: Assessment): string[] {
  const issues = [...a.issues, ...a.timepoints.flatMap((t) => t.issues)];
  return issues.map(
    (i) =>
      `note: ${printable(`${i.date ? `${i.date}: ` : ''}${i.text}${i.source ? ` [${i.source}]` : ''}`, MAX_ISSUE_TEXT)}\n`,
  );
}

/** A usage error is bad input too (contract): its OperationOutcome on stdout, beside the line on stderr. */
function refuse(io: CliIo, text: string): void {
  io.stdout(`${JSON.stringify(outcome('invalid', text), null, 2)}\n`);
}

async function assess(file: string, io: CliIo): Promise<number> {
  try {
    const text = await readInput(file, io);
    const result = assessBundle(parseJsonSafely(text, 'Input is not valid JSON'));
    io.stdout(`${JSON.stringify(result.transaction, null, 2)}\n`);
    const a = result.assessment;
    const header = `Patient/${a.patientId} (${a.profile.species})${a.treatmentStart ? `, immunotherapy from ${a.treatmentStart}` : ''}`;
    io.stderr(
      `${header}\n${timelineTable(a)}\n${qualityNotes(a).join('')}${result.notes.map((n) => `${n}\n`).join('')}`,
    );
    return 0;
  } catch (err) {
    if (err instanceof UsageError) throw err;
    const reply = commandError(err, 'assess');
    io.stdout(`${JSON.stringify(reply.outcome, null, 2)}\n`);
    const where = reply.outcome.issue?.[0]?.expression;
    io.stderr(`error: ${issueText(reply)}${where ? ` (at ${where.join(', ')})` : ''}\n`);
    return 2;
  }
}

/** `irecist-adapter assess FILE` (contract section 3). */
export const assessCommand: Command = {
  spec,
  run: (args, io) =>
    runCommand(
      spec,
      args,
      io,
      ({ positionals }) => assess(positionals[0] as string, io),
      (message) => refuse(io, message),
    ),
};
