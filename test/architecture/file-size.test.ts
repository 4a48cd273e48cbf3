/**
 * House style: a file in src/ stays under 350 lines unless its top says why (a line in its first comment with
 * "350 lines", e.g. "Over 350 lines because ..."). One concern per file keeps them short.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SRC } from './import-graph.ts';

const MAX_LINES = 350;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

/** The files over the limit whose top does not say why. */
function overlongWithoutReason(files: readonly { path: string; text: string }[]): string[] {
  return files.flatMap(({ path, text }) => {
    const lines = text.split('\n');
    const length = lines.at(-1) === '' ? lines.length - 1 : lines.length;
    if (length <= MAX_LINES) return [];
    const top = lines.slice(0, 20).join('\n');
    return /\b350 lines\b/.test(top) ? [] : [`${path}: ${length} lines, no reason at its top`];
  });
}

describe('file length in src/', () => {
  it(`keeps every file under ${MAX_LINES} lines or says why at its top`, () => {
    const files = sourceFiles(SRC).map((path) => ({ path: relative(SRC, path), text: readFileSync(path, 'utf8') }));
    expect(overlongWithoutReason(files)).toEqual([]);
  });

  it('finds a long file without a reason, and accepts one with', () => {
    const long = 'x\n'.repeat(MAX_LINES + 1);
    expect(overlongWithoutReason([{ path: 'a.ts', text: `/** A. */\n${long}` }])).toEqual([
      `a.ts: ${MAX_LINES + 2} lines, no reason at its top`,
    ]);
    expect(overlongWithoutReason([{ path: 'b.ts', text: `/** Over 350 lines because ... */\n${long}` }])).toEqual([]);
  });
});
