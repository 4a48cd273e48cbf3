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
import { commandError, issueText } from './report-error.ts';

/** Largest file `assess` reads (a Bundle of one patient's history is far smaller). */
export const MAX_FILE_BYTES = 256 * 1024 * 1024;

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

async function readInput(file: string | undefined): Promise<string> {
  if (!file) throw badRequest('Usage: irecist-adapter assess FILE (a FHIR Bundle of one patient)');
  let buffer: Buffer;
  try {
    buffer = await readFile(file);
  } catch (err) {
    throw new OutcomeError(outcome('not-found', 'Input file cannot be read'), 404, { cause: err });
  }
  if (buffer.length > MAX_FILE_BYTES) throw badRequest('Input file is larger than 256 MiB');
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

export async function runAssess(args: string[], io: CliIo): Promise<number> {
  try {
    const text = await readInput(args[0]);
    const result = assessBundle(parseJsonSafely(text, 'Input is not valid JSON'));
    io.stdout(`${JSON.stringify(result.transaction, null, 2)}\n`);
    const a = result.assessment;
    const header = `Patient/${a.patientId} (${a.profile.species})${a.treatmentStart ? `, immunotherapy from ${a.treatmentStart}` : ''}`;
    io.stderr(
      `${header}\n${timelineTable(a)}\n${qualityNotes(a).join('')}${result.notes.map((n) => `${n}\n`).join('')}`,
    );
    return 0;
  } catch (err) {
    const reply = commandError(err, 'assess');
    io.stdout(`${JSON.stringify(reply.outcome, null, 2)}\n`);
    const where = reply.outcome.issue?.[0]?.expression;
    io.stderr(`error: ${issueText(reply)}${where ? ` (at ${where.join(', ')})` : ''}\n`);
    return 2;
  }
}
