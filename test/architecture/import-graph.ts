/**
 * The architecture as the code's own imports draw it (docs/architecture.md, "Layers"). Every file in src/ belongs to
 * a part: its folder under src/, or for a file directly in src/ its name (`codes`, `config`, ...). Parts sit in
 * layers, lowest first; a part may import its own files and parts of lower layers only, never a sibling of its own
 * layer or anything above. The domain imports nothing outside itself (it is pure). No import cycle, even one of
 * type-only imports, between any two files.
 *
 * Run `node test/architecture/import-graph.ts` (part of `npm run lint`) for the report; test/architecture holds the test.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The layers, lowest first. A part not listed here is itself a violation: place it deliberately. */
export const LAYERS: readonly (readonly string[])[] = [
  ['domain'],
  ['codes', 'version', 'util'],
  ['logging', 'config'],
  ['fhir-model'],
  ['charts'],
  ['mapping', 'profiles'],
  ['pipeline'],
  ['api'],
  ['fhir', 'queue', 'server'],
  ['bulk'],
  ['intake', 'registration', 'polling', 'worker', 'sandbox', 'cds-hooks', 'app', 'backfill', 'admin'],
  ['service'],
  ['cli'],
];

/** Parts that import nothing outside themselves. */
export const ISOLATED: ReadonlySet<string> = new Set(['domain']);

export const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

export interface ImportEdge {
  /** Importing file, relative to src/. */
  from: string;
  /** Imported file, relative to src/. */
  to: string;
}

const IMPORT =
  /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*'(\.{1,2}\/[^']+)'|(?:^|\n)\s*import\s*'(\.{1,2}\/[^']+)'|import\(\s*'(\.{1,2}\/[^']+)'\s*\)/g;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

/**
 * Every relative import between files of src/ (static, re-exports and dynamic `import('...')` alike).
 * @param root - The src/ directory.
 * @returns The edges.
 */
export function importEdges(root = SRC): ImportEdge[] {
  return sourceFiles(root).flatMap((file) => {
    const text = readFileSync(file, 'utf8');
    return [...text.matchAll(IMPORT)].map((m) => ({
      from: relative(root, file),
      to: relative(root, resolve(dirname(file), (m[1] ?? m[2] ?? m[3]) as string)),
    }));
  });
}

/** The part a file belongs to: its first folder under src/, or its own name for a file directly in src/. */
export function partOf(file: string): string {
  const [first, ...rest] = file.split('/');
  return rest.length > 0 ? (first as string) : (first as string).replace(/\.ts$/, '');
}

function layerOf(part: string): number | undefined {
  const index = LAYERS.findIndex((layer) => layer.includes(part));
  return index < 0 ? undefined : index;
}

/**
 * Imports that break the layering: into a higher layer (a back-arrow), into a sibling of the same layer, out of an
 * isolated part, or from or to a part no layer lists.
 * @param edges - The imports.
 * @returns One line per offending import.
 */
export function layerViolations(edges: readonly ImportEdge[]): string[] {
  const found: string[] = [];
  for (const { from, to } of edges) {
    const a = partOf(from);
    const b = partOf(to);
    if (a === b) continue;
    const la = layerOf(a);
    const lb = layerOf(b);
    if (la === undefined || lb === undefined) {
      found.push(`${from} -> ${to}: ${la === undefined ? a : b} is in no layer (add it to LAYERS)`);
    } else if (ISOLATED.has(a)) {
      found.push(`${from} -> ${to}: ${a} imports nothing outside itself`);
    } else if (lb > la) {
      found.push(`${from} -> ${to}: back-arrow, ${a} (layer ${la}) imports ${b} (layer ${lb})`);
    } else if (lb === la) {
      found.push(`${from} -> ${to}: ${a} and ${b} are siblings in layer ${la}; neither imports the other`);
    }
  }
  return found;
}

/**
 * Import cycles between files (Tarjan's strongly connected components; a file importing itself counts).
 * @param edges - The imports.
 * @returns Each cycle as its files, sorted.
 */
export function importCycles(edges: readonly ImportEdge[]): string[][] {
  const next = new Map<string, string[]>();
  for (const { from, to } of edges) {
    next.set(from, [...(next.get(from) ?? []), to]);
    if (!next.has(to)) next.set(to, []);
  }
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (file: string): void => {
    index.set(file, index.size);
    low.set(file, index.get(file) as number);
    stack.push(file);
    onStack.add(file);
    for (const to of next.get(file) ?? []) {
      if (!index.has(to)) {
        visit(to);
        low.set(file, Math.min(low.get(file) as number, low.get(to) as number));
      } else if (onStack.has(to)) {
        low.set(file, Math.min(low.get(file) as number, index.get(to) as number));
      }
    }
    if (low.get(file) !== index.get(file)) return;
    const component: string[] = [];
    for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
      onStack.delete(top);
      component.push(top);
      if (top === file) break;
    }
    if (component.length > 1 || (next.get(file) ?? []).includes(file)) cycles.push(component.sort());
  };
  for (const file of [...next.keys()].sort()) if (!index.has(file)) visit(file);
  return cycles;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const edges = importEdges();
  const problems = [
    ...layerViolations(edges),
    ...importCycles(edges).map((cycle) => `import cycle: ${cycle.join(' -> ')}`),
  ];
  for (const line of problems) process.stderr.write(`${line}\n`);
  process.stdout.write(
    `${edges.length} imports in src/: ${problems.length ? `${problems.length} problem(s)` : 'layered, no cycle'}\n`,
  );
  process.exitCode = problems.length ? 1 : 0;
}
