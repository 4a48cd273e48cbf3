/**
 * What the FHIR server can do, read once per process from its CapabilityStatement (GET [base]/metadata):
 * batch/transaction (one request for the context read / the write), subscriptions (rest-hook, Backport IG
 * topics), conditional update, and which server it is (Medplum and HAPI have known quirks).
 * https://hl7.org/fhir/R4/capabilitystatement.html
 * https://hl7.org/fhir/uv/subscriptions-backport/
 */
import type { MedplumClient } from '@medplum/core';
import type { CapabilityStatement, CapabilityStatementRest } from '@medplum/fhirtypes';
import { type ServerSoftware, serverSoftware } from '../fhir-model/server-software.ts';
import { logger } from '../logging.ts';
import { fhirBaseUrlOf } from './client-factory.ts';

export interface Capabilities {
  /** POST [base] with a batch Bundle. */
  batch: boolean;
  /** POST [base] with a transaction Bundle. */
  transaction: boolean;
  /** Subscriptions with channel rest-hook (R4 Subscription resource offered). */
  restHook: boolean;
  /** Topic-based subscriptions (Subscriptions R5 Backport IG). */
  backportTopics: boolean;
  software?: ServerSoftware;
  /** Conditional update on every resource type the adapter updates (DiagnosticReport, Observation, Flag). */
  conditionalUpdate: boolean;
  /** Conditional create (If-None-Exist) on every resource type the adapter writes. */
  conditionalCreate: boolean;
  /**
   * Per resource type, what the statement lists (interactions, conditional create/update, versioning, search
   * parameters); empty when the statement lists no types at all (nothing known: the write plan assumes everything).
   */
  types: Record<string, TypeCapability>;
}

/** What a CapabilityStatement lists for one resource type (rest.resource). */
export interface TypeCapability {
  interactions: string[];
  conditionalCreate: boolean;
  conditionalUpdate: boolean;
  /** `versioned-update`: If-Match on update is honoured (https://hl7.org/fhir/R4/valueset-versioning-policy.html). */
  versioning?: string;
  searchParams: string[];
}

const UPDATED_TYPES = ['DiagnosticReport', 'Observation', 'Flag'] as const;
const CREATED_TYPES = ['DiagnosticReport', 'Observation', 'Flag', 'Provenance'] as const;
const BACKPORT = 'http://hl7.org/fhir/uv/subscriptions-backport';

/**
 * Derives the capabilities from a CapabilityStatement.
 * `batch` is also assumed when only `transaction` is declared (HAPI declares transaction only and
 * serves both through the same endpoint); the context read falls back when a batch is refused anyway.
 * @param cs - The CapabilityStatement.
 * @returns The capabilities.
 */
export function parseCapabilities(cs: CapabilityStatement): Capabilities {
  const rest: CapabilityStatementRest | undefined = cs.rest?.find((r) => r.mode === 'server') ?? cs.rest?.[0];
  const systemInteractions = new Set((rest?.interaction ?? []).map((i) => i.code));
  const resources = new Map((rest?.resource ?? []).map((r) => [r.type as string, r]));

  const transaction = systemInteractions.has('transaction');
  const batch = systemInteractions.has('batch') || transaction;

  const subscription = resources.get('Subscription');
  const subscriptionInteractions = new Set((subscription?.interaction ?? []).map((i) => i.code));
  const restHook =
    subscription !== undefined && (subscriptionInteractions.size === 0 || subscriptionInteractions.has('create'));

  const backportTopics =
    (cs.instantiates ?? []).some((url) => url.startsWith(`${BACKPORT}/CapabilityStatement/`)) ||
    (cs.implementationGuide ?? []).some((url) => url.startsWith(BACKPORT)) ||
    resources.has('SubscriptionTopic') ||
    (subscription?.supportedProfile ?? []).some((url) => url.startsWith(BACKPORT));

  const conditionalUpdate = UPDATED_TYPES.every((t) => resources.get(t)?.conditionalUpdate === true);
  const conditionalCreate = CREATED_TYPES.every((t) => resources.get(t)?.conditionalCreate === true);

  const types: Record<string, TypeCapability> = {};
  for (const [type, r] of resources) {
    types[type] = {
      interactions: (r.interaction ?? []).map((i) => i.code as string),
      conditionalCreate: r.conditionalCreate === true,
      conditionalUpdate: r.conditionalUpdate === true,
      ...(r.versioning ? { versioning: r.versioning } : {}),
      searchParams: (r.searchParam ?? []).map((p) => p.name as string),
    };
  }

  return {
    batch,
    transaction,
    restHook,
    backportTopics,
    software: detectSoftware(cs),
    conditionalUpdate,
    conditionalCreate,
    types,
  };
}

function detectSoftware(cs: CapabilityStatement): Capabilities['software'] {
  const names = [cs.software?.name, cs.implementation?.description, cs.publisher, cs.name]
    .filter((v): v is string => typeof v === 'string')
    .join(' ')
    .toLowerCase();
  if (!cs.software && !cs.implementation) return undefined;
  return serverSoftware(names);
}

/** A statement read this long ago is read again (a periodic check: servers are upgraded and reconfigured). */
export const CAPABILITIES_MAX_AGE_MS = 15 * 60_000;

const cache = new Map<string, { at: number; caps: Promise<Capabilities> }>();

/**
 * Reads the server's capabilities (GET metadata), cached per process and FHIR base URL for
 * CAPABILITIES_MAX_AGE_MS (and until a refused write forgets them, see forgetCapabilities);
 * a failed read is not cached.
 * @param client - The FHIR client.
 * @returns The capabilities.
 */
export function readCapabilities(client: MedplumClient): Promise<Capabilities> {
  const key = fhirBaseUrlOf(client);
  const now = Date.now();
  const cached = cache.get(key);
  if (cached && now - cached.at < CAPABILITIES_MAX_AGE_MS) return cached.caps;
  const found = client
    .get<CapabilityStatement>(`${key}/metadata`, {
      headers: { Accept: 'application/fhir+json' },
      ...(cached ? { cache: 'no-cache' as const } : {}),
    })
    .then((cs) => {
      if (cs?.resourceType !== 'CapabilityStatement') {
        logger.warn('FHIR server metadata is not a CapabilityStatement; assuming no batch/transaction');
        return parseCapabilities({ resourceType: 'CapabilityStatement' } as CapabilityStatement);
      }
      const caps = parseCapabilities(cs);
      const { types, ...summary } = caps;
      logger.info({ ...summary, types: Object.keys(types).length }, 'FHIR server capabilities');
      return caps;
    });
  const entry = { at: now, caps: found };
  cache.set(key, entry);
  found.catch(() => {
    if (cache.get(key) === entry) cache.delete(key);
  });
  return found;
}

/**
 * Whether the FHIR server answers right now: its CapabilityStatement read afresh (never from the cache above, which
 * would call a server that went down after start-up healthy), within `timeoutMs`.
 * @param client - The FHIR client.
 * @param timeoutMs - How long to wait.
 * @returns True when it answered with a CapabilityStatement.
 */
export async function probeFhirServer(client: MedplumClient, timeoutMs: number): Promise<boolean> {
  try {
    const cs = await client.get<CapabilityStatement>(`${fhirBaseUrlOf(client)}/metadata`, {
      headers: { Accept: 'application/fhir+json' },
      cache: 'no-cache',
      signal: AbortSignal.timeout(timeoutMs),
    });
    return cs?.resourceType === 'CapabilityStatement';
  } catch {
    return false;
  }
}

/**
 * Forgets the cached capabilities of one server, so the next job reads its CapabilityStatement again (a write the
 * plan allowed was refused: the server changed).
 * @param client - The FHIR client whose server's statement is forgotten.
 */
export function forgetCapabilities(client: MedplumClient): void {
  cache.delete(fhirBaseUrlOf(client));
}

/** Forgets cached capabilities (tests; after the server was upgraded). */
export function clearCapabilitiesCache(): void {
  cache.clear();
}
