/**
 * What a sandbox server profile says: which resource types, interactions, search parameters, conditional requests,
 * operations and Subscriptions the imitated server offers (its CapabilityStatement, built from this table), and how
 * it refuses the rest (the status and OperationOutcome that server answers). One table per profile, in this folder.
 */
import type { OperationOutcome } from '@medplum/fhirtypes';
import type { SandboxProfileName } from '../../config/change-detection.ts';

/** Type- and instance-level interactions (CapabilityStatement.rest.resource.interaction). */
export type TypeInteraction =
  | 'read'
  | 'vread'
  | 'update'
  | 'patch'
  | 'delete'
  | 'history-instance'
  | 'history-type'
  | 'create'
  | 'search-type';

/** System-level interactions (CapabilityStatement.rest.interaction). */
export type SystemInteraction = 'transaction' | 'batch' | 'search-system' | 'history-system';

export interface ResourceRule {
  readonly interactions: readonly TypeInteraction[];
  /** Search parameter names offered (no modifiers); `all` = every parameter the sandbox can answer. */
  readonly searchParams: readonly string[] | 'all';
  readonly conditionalCreate: boolean;
  readonly conditionalUpdate: boolean;
  readonly conditionalDelete: boolean;
  /** Operations on the type or its instances, without `$` (`export` on Group); `all` = whatever the sandbox has. */
  readonly operations: readonly string[] | 'all';
  /** `versioned-update`: an update with If-Match is checked against the current version. */
  readonly versioning: 'no-version' | 'versioned' | 'versioned-update';
}

/** Something a request asks that the profile does not offer. */
export type Refusal =
  | { readonly kind: 'type'; readonly resourceType: string; readonly offered: readonly string[] }
  | { readonly kind: 'interaction'; readonly resourceType?: string; readonly interaction: string }
  | {
      readonly kind: 'search-param';
      readonly resourceType: string;
      readonly param: string;
      readonly offered: readonly string[];
    }
  | { readonly kind: 'conditional'; readonly resourceType: string; readonly interaction: string }
  | { readonly kind: 'operation'; readonly resourceType?: string; readonly operation: string }
  | { readonly kind: 'version-conflict'; readonly resourceType: string; readonly id: string };

/** The answer to a refused request: what the imitated server sends back. */
export interface RefusalAnswer {
  readonly status: number;
  readonly outcome: OperationOutcome;
}

export interface ServerProfile {
  readonly name: SandboxProfileName;
  /** CapabilityStatement.software; undefined = the sandbox's own name (medplum profile, as before profiles). */
  readonly software?: { readonly name: string; readonly version: string };
  /** CapabilityStatement.rest.documentation: what this profile imitates and where it departs from it. */
  readonly documentation: string;
  readonly system: readonly SystemInteraction[];
  /** System-level operations (`[base]/$name`); `all` = whatever the sandbox has. */
  readonly systemOperations: readonly string[] | 'all';
  /** The resource types offered; a type not listed is refused. Undefined: every R4 type, with `everyType`. */
  readonly resources?: Readonly<Record<string, ResourceRule>>;
  readonly everyType?: ResourceRule;
  /** How Subscriptions are notified: Medplum's rest-hook, HAPI's, or none (no Subscription resource at all). */
  readonly notifications: 'medplum' | 'hapi' | 'none';
  /** POST /sandbox/load keeps the Group `oncology` of every patient loaded (the cohort a Group $export watches). */
  readonly keepsCohortGroup: boolean;
  /** The imitated server's answer to a request it does not support. */
  readonly refuse: (refusal: Refusal) => RefusalAnswer;
}

/** Every interaction the sandbox implements, in CapabilityStatement order. */
export const ALL_TYPE_INTERACTIONS: readonly TypeInteraction[] = [
  'read',
  'vread',
  'update',
  'patch',
  'delete',
  'history-instance',
  'history-type',
  'create',
  'search-type',
];

/** A rule offering everything the sandbox implements (Medplum, HAPI). */
export const EVERYTHING: ResourceRule = {
  interactions: ALL_TYPE_INTERACTIONS,
  searchParams: 'all',
  conditionalCreate: true,
  conditionalUpdate: true,
  conditionalDelete: true,
  operations: 'all',
  versioning: 'versioned-update',
};

/**
 * A rule with the given interactions and search parameters and nothing conditional (the EHR profiles).
 * @param interactions - The interactions offered.
 * @param searchParams - The search parameter names offered.
 * @param extra - Operations and versioning, when not the defaults (none; versioned-update where it writes).
 * @returns The rule.
 */
export function plainRule(
  interactions: readonly TypeInteraction[],
  searchParams: readonly string[],
  extra: Partial<Pick<ResourceRule, 'operations' | 'versioning'>> = {},
): ResourceRule {
  const writes = interactions.includes('update') || interactions.includes('create');
  return {
    interactions,
    searchParams,
    conditionalCreate: false,
    conditionalUpdate: false,
    conditionalDelete: false,
    operations: extra.operations ?? [],
    versioning: extra.versioning ?? (writes ? 'versioned-update' : 'versioned'),
  };
}

/**
 * The rule for one resource type, or undefined when the profile does not offer the type.
 * @param profile - The profile.
 * @param resourceType - The type.
 */
export function ruleFor(profile: ServerProfile, resourceType: string): ResourceRule | undefined {
  return profile.resources ? profile.resources[resourceType] : profile.everyType;
}

/**
 * Whether the profile offers an operation on a type (or at system level without a type).
 * @param profile - The profile.
 * @param operation - The operation name without `$`.
 * @param resourceType - The type, for a type- or instance-level operation.
 */
export function offersOperation(profile: ServerProfile, operation: string, resourceType?: string): boolean {
  const offered = resourceType ? ruleFor(profile, resourceType)?.operations : profile.systemOperations;
  return offered === 'all' || (offered?.includes(operation) ?? false);
}
