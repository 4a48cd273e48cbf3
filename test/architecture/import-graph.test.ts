import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type ImportEdge, importCycles, importEdges, LAYERS, layerViolations, partOf } from './import-graph.ts';

const edge = (from: string, to: string): ImportEdge => ({ from, to });

describe('the import graph of src/ (docs/architecture.md, "Layers")', () => {
  const edges = importEdges();

  it('reads the imports of every part', () => {
    const parts = new Set(edges.flatMap((e) => [partOf(e.from), partOf(e.to)]));
    for (const part of ['domain', 'fhir-model', 'mapping', 'pipeline', 'fhir', 'queue', 'intake', 'service', 'cli']) {
      expect(parts).toContain(part);
    }
  });

  it('has no arrow that runs back up, sideways or out of the domain', () => {
    expect(layerViolations(edges)).toEqual([]);
  });

  it('has no import cycle', () => {
    expect(importCycles(edges)).toEqual([]);
  });
});

describe('the check itself', () => {
  it.each([
    ['a back-arrow', edge('fhir/counting-fetch.ts', 'service/start-service.ts'), /back-arrow, fhir \(layer 8\)/],
    ['a sibling import', edge('polling/poller.ts', 'registration/x.ts'), /polling and registration are siblings/],
    ['the domain importing anything else', edge('domain/assess.ts', 'codes.ts'), /domain imports nothing outside/],
    ['a part in no layer', edge('service/x.ts', 'newpart/y.ts'), /newpart is in no layer/],
  ])('finds %s', (_name, e, message) => {
    expect(layerViolations([e])).toEqual([expect.stringMatching(message)]);
  });

  it('allows imports within a part and down the layers', () => {
    expect(layerViolations([edge('cli/main.ts', 'cli/assess.ts'), edge('cli/assess.ts', 'domain/types.ts')])).toEqual(
      [],
    );
  });

  it('finds cycles, type-only ones included, and self-imports', () => {
    const cycles = importCycles([
      edge('a/x.ts', 'a/y.ts'),
      edge('a/y.ts', 'b/z.ts'),
      edge('b/z.ts', 'a/x.ts'),
      edge('c/s.ts', 'c/s.ts'),
      edge('d/t.ts', 'a/x.ts'),
    ]);
    expect(cycles).toEqual([['a/x.ts', 'a/y.ts', 'b/z.ts'], ['c/s.ts']]);
  });

  it('names every part once', () => {
    const parts = LAYERS.flat();
    expect(new Set(parts).size).toBe(parts.length);
  });
});

describe('docs/architecture.md', () => {
  it('shows the layers the check enforces', () => {
    const doc = readFileSync(new URL('../../docs/architecture.md', import.meta.url), 'utf8');
    const table = doc.slice(doc.indexOf('<!-- layers:start -->'), doc.indexOf('<!-- layers:end -->'));
    const rows = [...table.matchAll(/^\| (\d+) \| ([^|]+) \|/gm)].map((m) => [
      Number(m[1]),
      (m[2] as string).split(',').map((part) => part.trim()),
    ]);
    expect(rows).toEqual(LAYERS.map((parts, index) => [index, [...parts]]));
  });
});
