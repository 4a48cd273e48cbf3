/** NDJSON bodies read line by line, whatever the chunks they arrive in. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ndjsonLines } from '../../src/bulk/ndjson-lines.ts';
import { OutcomeError } from '../../src/fhir-model/outcomes.ts';

function bodyOf(chunks: (string | Uint8Array)[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const c of chunks) controller.enqueue(typeof c === 'string' ? encoder.encode(c) : c);
      controller.close();
    },
  });
}

async function lines(chunks: (string | Uint8Array)[], max?: number): Promise<[number, string][]> {
  const out: [number, string][] = [];
  for await (const line of ndjsonLines(bodyOf(chunks), max)) out.push([line.number, line.text]);
  return out;
}

describe('ndjsonLines', () => {
  it.each([
    [
      'one chunk',
      ['{"a":1}\n{"b":2}\n'],
      [
        [1, '{"a":1}'],
        [2, '{"b":2}'],
      ],
    ],
    [
      'a line split over chunks',
      ['{"a"', ':1}\n{"b":', '2}\n'],
      [
        [1, '{"a":1}'],
        [2, '{"b":2}'],
      ],
    ],
    [
      'a last line without a line end',
      ['{"a":1}\n{"b":2}'],
      [
        [1, '{"a":1}'],
        [2, '{"b":2}'],
      ],
    ],
    [
      'CRLF line ends',
      ['{"a":1}\r\n{"b":2}\r\n'],
      [
        [1, '{"a":1}'],
        [2, '{"b":2}'],
      ],
    ],
    [
      'blank lines, numbered',
      ['\n{"a":1}\n\n'],
      [
        [1, ''],
        [2, '{"a":1}'],
        [3, ''],
      ],
    ],
    ['an empty body', [], []],
  ] as const)('reads %s', async (_what, chunks, expected) => {
    expect(await lines([...chunks])).toEqual(expected);
  });

  it('decodes a multi-byte character split between two chunks', async () => {
    const bytes = new TextEncoder().encode('{"name":"Zoë"}\n');
    const cut = bytes.indexOf(0xc3) + 1;
    expect(await lines([bytes.subarray(0, cut), bytes.subarray(cut)])).toEqual([[1, '{"name":"Zoë"}']]);
  });

  it('reads the same lines however the bytes are cut', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.string({ unit: 'grapheme' }).map((s) => s.replace(/[\r\n]/g, '')),
          { maxLength: 8 },
        ),
        fc.array(fc.nat(), { maxLength: 6 }),
        async (texts, cuts) => {
          const bytes = new TextEncoder().encode(texts.map((t) => `${t}\n`).join(''));
          const points = [...new Set(cuts.map((c) => (bytes.length ? c % bytes.length : 0)))].sort((a, b) => a - b);
          const chunks = [0, ...points, bytes.length]
            .slice(1)
            .map((end, i, all) => bytes.subarray(i === 0 ? 0 : all[i - 1], end));
          expect((await lines(chunks)).map(([, t]) => t)).toEqual(texts);
        },
      ),
    );
  });

  it.each([
    ['a line over the limit', ['x'.repeat(20)], 10, 'NDJSON line too long'],
    ['invalid UTF-8', [new Uint8Array([0x7b, 0xff, 0x7d, 0x0a])], undefined, 'NDJSON file is not valid UTF-8'],
  ] as const)('refuses %s', async (_what, chunks, max, text) => {
    const failure = await lines([...chunks], max).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(OutcomeError);
    expect((failure as OutcomeError).outcome.issue?.[0]?.details?.text).toBe(text);
  });
});
