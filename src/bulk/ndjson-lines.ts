/**
 * The lines of an NDJSON body, read as they arrive: at most one chunk and one line are in memory at a time, whatever
 * the size of the file. Strict UTF-8; CRLF line ends are accepted; a line longer than `maxLineChars` is refused
 * (one FHIR resource per line, so a giant line is a broken file, not data to hold). A failure of the connection
 * half-way comes out as the FHIR client's retryable error (fhir/http-error.ts).
 * http://ndjson.org/, https://hl7.org/fhir/uv/bulkdata/export.html#file-request
 */

import { errorFromFetchFailure } from '../fhir/http-error.ts';
import { OutcomeError, outcome } from '../fhir-model/outcomes.ts';

export interface NdjsonLine {
  /** 1-based line number in the file. */
  readonly number: number;
  /** The line without its line end (may be empty). */
  readonly text: string;
}

/** Longest line accepted by default: 64 MiB of text. */
export const DEFAULT_MAX_LINE_CHARS = 64 * 1024 * 1024;

/**
 * Reads the lines of a body.
 * @param body - The response body.
 * @param maxLineChars - Longest line accepted.
 * @returns The lines, in order (a last line without a line end included).
 * @throws OutcomeError 502 for invalid UTF-8 or a line over the limit; a retryable FhirRequestError when the
 *   connection fails.
 */
export async function* ndjsonLines(
  body: ReadableStream<Uint8Array>,
  maxLineChars = DEFAULT_MAX_LINE_CHARS,
): AsyncGenerator<NdjsonLine> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const reader = body.getReader();
  let pending = '';
  let number = 0;
  try {
    for (;;) {
      const { done, value } = await read(reader);
      const text = decode(decoder, done ? undefined : value);
      let start = 0;
      const chunk = pending + text;
      for (let end = chunk.indexOf('\n'); end >= 0; end = chunk.indexOf('\n', start)) {
        number++;
        const line = chunk.slice(start, end);
        yield { number, text: line.endsWith('\r') ? line.slice(0, -1) : line };
        start = end + 1;
      }
      pending = chunk.slice(start);
      if (pending.length > maxLineChars) {
        throw new OutcomeError(
          outcome('too-costly', 'NDJSON line too long', { diagnostics: `line ${number + 1}` }),
          502,
        );
      }
      if (done) break;
    }
    if (pending.length > 0) yield { number: number + 1, text: pending.endsWith('\r') ? pending.slice(0, -1) : pending };
  } finally {
    reader.releaseLock();
    await body.cancel().catch(() => undefined);
  }
}

async function read(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<{ done: boolean; value?: Uint8Array }> {
  try {
    return await reader.read();
  } catch (err) {
    throw errorFromFetchFailure(err);
  }
}

function decode(decoder: InstanceType<typeof TextDecoder>, bytes: Uint8Array | undefined): string {
  try {
    return bytes === undefined ? decoder.decode() : decoder.decode(bytes, { stream: true });
  } catch {
    throw new OutcomeError(outcome('structure', 'NDJSON file is not valid UTF-8'), 502);
  }
}
