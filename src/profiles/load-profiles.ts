/**
 * The conformance resources under profiles/ (StructureDefinitions, CodeSystems, ValueSets, the SubscriptionTopic and
 * the Subscription templates), read once from disk and cached. Everything returned is deep-frozen: clone before
 * changing anything (fillPlaceholders returns a fresh copy).
 * https://hl7.org/fhir/R4/profiling.html
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { CodeSystem, Resource, StructureDefinition, Subscription, ValueSet } from '@medplum/fhirtypes';
import { OutcomeError, outcome } from '../fhir-model/outcomes.ts';

/**
 * An R5 / R4B SubscriptionTopic (not an R4 resource, so not in @medplum/fhirtypes); only the fields the adapter uses.
 * https://hl7.org/fhir/R5/subscriptiontopic.html
 */
export interface SubscriptionTopic {
  resourceType: 'SubscriptionTopic';
  id: string;
  url: string;
  version?: string;
  name?: string;
  title?: string;
  status: 'draft' | 'active' | 'retired' | 'unknown';
  description?: string;
  resourceTrigger: {
    description?: string;
    resource: string;
    supportedInteraction?: ('create' | 'update' | 'delete')[];
    queryCriteria?: {
      previous?: string;
      resultForCreate?: 'test-passes' | 'test-fails';
      current?: string;
      resultForDelete?: 'test-passes' | 'test-fails';
      requireBoth?: boolean;
    };
    fhirPathCriteria?: string;
  }[];
  canFilterBy?: { description?: string; resource?: string; filterParameter: string }[];
  notificationShape?: { resource: string; include?: string[]; revInclude?: string[] }[];
}

export type ProfileResource = StructureDefinition | CodeSystem | ValueSet | SubscriptionTopic | Subscription;

/** A Subscription template; `name` is the file name part after `Subscription-template-`, e.g. `r4-observation`. */
export interface SubscriptionTemplate {
  name: string;
  subscription: Subscription;
}

export interface LoadedProfiles {
  /** Absolute path of the profiles/ directory. */
  dir: string;
  /** Every file, in file-name order. */
  files: readonly { file: string; resource: ProfileResource }[];
  structureDefinitions: readonly StructureDefinition[];
  codeSystems: readonly CodeSystem[];
  valueSets: readonly ValueSet[];
  subscriptionTopics: readonly SubscriptionTopic[];
  subscriptionTemplates: readonly SubscriptionTemplate[];
}

/** Absolute path of the profiles/ directory (resolved from this module, not the working directory). */
export const PROFILES_DIR: string = fileURLToPath(new URL('../../profiles/', import.meta.url));

const RESOURCE_TYPES = new Set(['StructureDefinition', 'CodeSystem', 'ValueSet', 'SubscriptionTopic', 'Subscription']);
const TEMPLATE_PREFIX = 'Subscription-template-';

interface Index {
  loaded: LoadedProfiles;
  structureDefinitions: Map<string, StructureDefinition>;
  codeSystems: Map<string, CodeSystem>;
  valueSets: Map<string, ValueSet>;
}

let cache: Index | undefined;

function loadError(text: string, file: string): OutcomeError {
  return new OutcomeError(outcome('exception', text, { diagnostics: file }), 500);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/** Strips a `|version` suffix from a canonical reference. */
export function canonicalUrl(canonical: string): string {
  const bar = canonical.indexOf('|');
  return bar < 0 ? canonical : canonical.slice(0, bar);
}

function readProfileFile(dir: string, file: string): ProfileResource {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(`${dir}${file}`, 'utf8'));
  } catch {
    throw loadError('Unreadable conformance resource', file);
  }
  const resourceType = (parsed as Partial<Resource> | null)?.resourceType;
  if (!resourceType || !RESOURCE_TYPES.has(resourceType) || !file.startsWith(`${resourceType}-`)) {
    throw loadError('Unexpected conformance resource', file);
  }
  return parsed as ProfileResource;
}

function build(dir: string): Index {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({ file, resource: deepFreeze(readProfileFile(dir, file)) }));

  const structureDefinitions = new Map<string, StructureDefinition>();
  const codeSystems = new Map<string, CodeSystem>();
  const valueSets = new Map<string, ValueSet>();
  const subscriptionTopics: SubscriptionTopic[] = [];
  const subscriptionTemplates: SubscriptionTemplate[] = [];

  const add = <T extends { url?: string }>(map: Map<string, T>, resource: T, file: string): void => {
    if (!resource.url) throw loadError('Conformance resource without url', file);
    if (map.has(resource.url)) throw loadError('Duplicate conformance resource url', file);
    map.set(resource.url, resource);
  };

  for (const { file, resource } of files) {
    switch (resource.resourceType) {
      case 'StructureDefinition':
        add(structureDefinitions, resource, file);
        break;
      case 'CodeSystem':
        add(codeSystems, resource, file);
        break;
      case 'ValueSet':
        add(valueSets, resource, file);
        break;
      case 'SubscriptionTopic':
        subscriptionTopics.push(resource);
        break;
      case 'Subscription':
        if (!file.startsWith(TEMPLATE_PREFIX)) throw loadError('Unexpected conformance resource', file);
        subscriptionTemplates.push({
          name: file.slice(TEMPLATE_PREFIX.length, -'.json'.length),
          subscription: resource,
        });
        break;
    }
  }

  return {
    loaded: deepFreeze({
      dir,
      files,
      structureDefinitions: [...structureDefinitions.values()],
      codeSystems: [...codeSystems.values()],
      valueSets: [...valueSets.values()],
      subscriptionTopics,
      subscriptionTemplates,
    }),
    structureDefinitions,
    codeSystems,
    valueSets,
  };
}

function index(): Index {
  cache ??= build(PROFILES_DIR);
  return cache;
}

/** Every conformance resource under profiles/, read on first call and cached. */
export function loadProfiles(): LoadedProfiles {
  return index().loaded;
}

/** Our StructureDefinition (profile or extension) with this canonical URL (a `|version` suffix is ignored). */
export function getProfile(url: string): StructureDefinition | undefined {
  return index().structureDefinitions.get(canonicalUrl(url));
}

/** Our ValueSet with this canonical URL (a `|version` suffix is ignored). */
export function getValueSet(url: string): ValueSet | undefined {
  return index().valueSets.get(canonicalUrl(url));
}

/** Our CodeSystem with this canonical URL (a `|version` suffix is ignored). */
export function getCodeSystem(url: string): CodeSystem | undefined {
  return index().codeSystems.get(canonicalUrl(url));
}

/** Our SubscriptionTopic with this canonical URL. */
export function getSubscriptionTopic(url: string): SubscriptionTopic | undefined {
  const wanted = canonicalUrl(url);
  return index().loaded.subscriptionTopics.find((t) => t.url === wanted);
}

/** The Subscription templates (classic R4 rest-hook ones and the Backport IG topic-based one). */
export function getSubscriptionTemplates(): readonly SubscriptionTemplate[] {
  return index().loaded.subscriptionTemplates;
}

const PLACEHOLDER = /\{\{([A-Z0-9_]+)\}\}/g;

/**
 * A fresh copy of `value` with every `{{NAME}}` placeholder inside its strings replaced by `vars[NAME]`
 * (placeholders are documented in profiles/README.md). Throws when a placeholder has no value.
 */
export function fillPlaceholders<T>(value: T, vars: Readonly<Record<string, string>>): T {
  return JSON.parse(JSON.stringify(value), (_key, v: unknown) =>
    typeof v === 'string'
      ? v.replace(PLACEHOLDER, (_m, name: string) => {
          const replacement = vars[name];
          if (replacement === undefined) {
            throw new OutcomeError(outcome('invalid', 'Missing template variable', { diagnostics: name }), 500);
          }
          return replacement;
        })
      : v,
  ) as T;
}
