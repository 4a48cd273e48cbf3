/**
 * A small snapshot generator for our differential-only profiles: medplum's validator reads `snapshot.element`, so
 * the differential is merged onto the base definition's snapshot. It covers what our profiles use (constraining
 * elements, restricting types, slicing, elements inside complex data types and inside extension slices), not the
 * whole of https://hl7.org/fhir/R4/profiling.html#snapshot.
 */
import type { ElementDefinition, StructureDefinition } from '@medplum/fhirtypes';
import { OutcomeError, outcome } from '../../../src/fhir-model/outcomes.ts';

/** Finds a StructureDefinition with a snapshot by canonical URL (base resources and data types). */
export type DefinitionLookup = (url: string) => StructureDefinition | undefined;

const CORE = 'http://hl7.org/fhir/StructureDefinition/';

/** Keys of an ElementDefinition that the differential never overrides. */
const KEEP = new Set(['id', 'path']);

/** A profile we ship cannot be expanded: a packaging bug, reported at start-up. */
function snapshotError(diagnostics: string): OutcomeError {
  return new OutcomeError(outcome('exception', 'Cannot build profile snapshot', { diagnostics }), 500);
}

function clone<T>(value: T): T {
  return structuredClone(value);
}

function merge(base: ElementDefinition, diff: ElementDefinition): ElementDefinition {
  const merged: ElementDefinition = { ...base };
  const fields = merged as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(diff)) {
    if (KEEP.has(key)) continue;
    if (key === 'constraint') {
      merged.constraint = [...(base.constraint ?? []), ...clone(diff.constraint ?? [])];
    } else if (key === 'condition') {
      merged.condition = [...new Set([...(base.condition ?? []), ...(diff.condition ?? [])])];
    } else {
      fields[key] = clone(value);
    }
  }
  return merged;
}

/** Splits `A.b:s.c` into parent `A.b:s` and last segment `c` (slice names in our profiles hold no dots). */
function splitId(id: string): { parent: string; last: string } {
  const dot = id.lastIndexOf('.');
  if (dot < 0) throw snapshotError(`Cannot place element ${id}`);
  return { parent: id.slice(0, dot), last: id.slice(dot + 1) };
}

function isUnder(id: string | undefined, ancestor: string): boolean {
  return !!id && (id === ancestor || id.startsWith(`${ancestor}.`) || id.startsWith(`${ancestor}:`));
}

class SnapshotBuilder {
  readonly elements: ElementDefinition[];
  private readonly lookup: DefinitionLookup;

  constructor(elements: ElementDefinition[], lookup: DefinitionLookup) {
    this.elements = elements;
    this.lookup = lookup;
  }

  indexOf(id: string): number {
    return this.elements.findIndex((e) => e.id === id);
  }

  /** Returns the index of element `id`, creating it (as a slice or by expanding a data type) when needed. */
  ensure(id: string): number {
    const found = this.indexOf(id);
    if (found >= 0) return found;
    const { parent, last } = splitId(id);
    const colon = last.indexOf(':');
    if (colon >= 0) return this.addSlice(`${parent}.${last.slice(0, colon)}`, last.slice(colon + 1), id);
    this.expandChildren(this.ensure(parent));
    const index = this.indexOf(id);
    if (index < 0) throw snapshotError(`Unknown element ${id}`);
    return index;
  }

  private addSlice(slicedId: string, sliceName: string, id: string): number {
    const slicedIndex = this.ensure(slicedId);
    const sliced = this.elements[slicedIndex] as ElementDefinition;
    let at = slicedIndex + 1;
    while (at < this.elements.length && isUnder(this.elements[at]?.id, slicedId)) at++;
    const { slicing: _slicing, ...rest } = clone(sliced);
    this.elements.splice(at, 0, { ...rest, id, sliceName });
    return at;
  }

  /** Inserts the children of a complex-typed element (from its data type's snapshot) right after it. */
  private expandChildren(index: number): void {
    const element = this.elements[index] as ElementDefinition;
    const id = element.id as string;
    if (this.elements[index + 1]?.id?.startsWith(`${id}.`)) return;
    const typeCode = element.type?.length === 1 ? element.type[0]?.code : undefined;
    const typeDefinition = typeCode ? this.lookup(`${CORE}${typeCode}`) : undefined;
    const typeElements = typeDefinition?.snapshot?.element;
    if (!typeCode || !typeElements?.length) throw snapshotError(`Cannot expand element ${id}`);
    const children = typeElements.slice(1).map((child) => ({
      ...clone(child),
      id: `${id}${(child.id ?? '').slice(typeCode.length)}`,
      path: `${element.path}${(child.path ?? '').slice(typeCode.length)}`,
    }));
    this.elements.splice(index + 1, 0, ...children);
  }
}

/**
 * Returns a copy of `profile` with a snapshot: the base definition's snapshot with the differential merged in.
 * Extension slices that name an extension profile get their `url` fixed to it, so that slices can be told apart.
 */
export function generateSnapshot(profile: StructureDefinition, lookup: DefinitionLookup): StructureDefinition {
  const base = profile.baseDefinition ? lookup(profile.baseDefinition) : undefined;
  if (!base?.snapshot?.element?.length) throw snapshotError(`No base snapshot for ${profile.url}`);
  const builder = new SnapshotBuilder(clone(base.snapshot.element), lookup);

  for (const diff of profile.differential?.element ?? []) {
    const id = diff.id ?? diff.path;
    if (!id) throw snapshotError(`Differential element without id in ${profile.url}`);
    const index = builder.ensure(id);
    const merged = merge(builder.elements[index] as ElementDefinition, diff);
    builder.elements[index] = merged;

    const extensionProfile = merged.sliceName && merged.type?.[0]?.code === 'Extension' && merged.type[0].profile?.[0];
    if (extensionProfile) {
      const urlIndex = builder.ensure(`${id}.url`);
      builder.elements[urlIndex] = { ...(builder.elements[urlIndex] as ElementDefinition), fixedUri: extensionProfile };
    }
  }

  return { ...clone(profile), snapshot: { element: builder.elements } };
}
