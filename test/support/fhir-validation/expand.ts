/**
 * Local ValueSet expansion (from `compose`) for code checks: enumerated concepts, whole CodeSystems with complete
 * content, included ValueSets and excludes. Anything that needs a terminology server (filters, unknown or fragment CodeSystems) makes
 * the expansion `undefined`, meaning "cannot tell", never "empty".
 * https://hl7.org/fhir/R4/valueset.html#compositions
 */
import type { CodeSystem, CodeSystemConcept, ValueSet, ValueSetComposeInclude } from '@medplum/fhirtypes';

/** code -> the systems it belongs to. */
export type Expansion = ReadonlyMap<string, ReadonlySet<string>>;

export interface TerminologyLookup {
  codeSystem: (url: string) => CodeSystem | undefined;
  valueSet: (url: string) => ValueSet | undefined;
}

const MAX_DEPTH = 8;

type MutableExpansion = Map<string, Set<string>>;

function addCode(target: MutableExpansion, system: string, code: string): void {
  let systems = target.get(code);
  if (!systems) {
    systems = new Set();
    target.set(code, systems);
  }
  systems.add(system);
}

function addConcepts(
  target: MutableExpansion,
  system: string,
  concepts: readonly CodeSystemConcept[] | undefined,
): void {
  for (const concept of concepts ?? []) {
    if (concept.code) addCode(target, system, concept.code);
    addConcepts(target, system, concept.concept);
  }
}

function intersect(a: Expansion, b: Expansion): MutableExpansion {
  const result: MutableExpansion = new Map();
  for (const [code, systems] of a) {
    for (const system of systems) if (b.get(code)?.has(system)) addCode(result, system, code);
  }
  return result;
}

function expandInclude(
  include: ValueSetComposeInclude,
  lookup: TerminologyLookup,
  depth: number,
): Expansion | undefined {
  if (include.filter?.length) return undefined;
  let result: MutableExpansion | undefined;
  if (include.system) {
    result = new Map();
    if (include.concept?.length) {
      for (const concept of include.concept) addCode(result, include.system, concept.code);
    } else {
      const codeSystem = lookup.codeSystem(include.system);
      if (codeSystem?.content !== 'complete') return undefined;
      addConcepts(result, include.system, codeSystem.concept);
    }
  }
  for (const url of include.valueSet ?? []) {
    const valueSet = lookup.valueSet(url);
    const nested = valueSet ? expandWithDepth(valueSet, lookup, depth + 1) : undefined;
    if (!nested) return undefined;
    result = result
      ? intersect(result, nested)
      : new Map([...nested].map(([code, systems]) => [code, new Set(systems)]));
  }
  return result;
}

function expandWithDepth(valueSet: ValueSet, lookup: TerminologyLookup, depth: number): Expansion | undefined {
  if (depth > MAX_DEPTH) return undefined;
  const compose = valueSet.compose;
  if (!compose) return undefined;
  const result: MutableExpansion = new Map();
  for (const include of compose.include) {
    const part = expandInclude(include, lookup, depth);
    if (!part) return undefined;
    for (const [code, systems] of part) for (const system of systems) addCode(result, system, code);
  }
  for (const exclude of compose.exclude ?? []) {
    const part = expandInclude(exclude, lookup, depth);
    if (!part) return undefined;
    for (const [code, systems] of part) {
      const kept = result.get(code);
      if (!kept) continue;
      for (const system of systems) kept.delete(system);
      if (kept.size === 0) result.delete(code);
    }
  }
  return result;
}

/** Expands `valueSet` locally, or returns undefined when that needs a terminology server. */
export function expandValueSet(valueSet: ValueSet, lookup: TerminologyLookup): Expansion | undefined {
  return expandWithDepth(valueSet, lookup, 0);
}

/** True when the coding (system optional) is in the expansion. */
export function expansionHas(expansion: Expansion, code: string | undefined, system?: string): boolean {
  if (!code) return false;
  const systems = expansion.get(code);
  if (!systems) return false;
  return system === undefined || systems.has(system);
}
