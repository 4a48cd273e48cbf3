/**
 * A profile's CapabilityStatement: the sandbox's full statement (capability-statement.ts) narrowed to what the
 * profile's table offers, so that `GET /metadata` and the refusals (restrictions.ts) say the same thing.
 * https://hl7.org/fhir/R4/capabilitystatement.html
 */
import type {
  CapabilityStatement,
  CapabilityStatementRestResource,
  CapabilityStatementRestResourceOperation,
} from '@medplum/fhirtypes';
import { ALL_TYPE_INTERACTIONS, type ResourceRule, ruleFor, type ServerProfile } from './profile-model.ts';

/** Bulk Data operation definitions (https://hl7.org/fhir/uv/bulkdata/). */
const OPERATION_DEFINITIONS: Readonly<Record<string, string>> = {
  export: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export',
};

/**
 * Narrows the sandbox's full statement to a profile.
 * @param full - The statement of everything the sandbox implements.
 * @param profile - The profile.
 * @returns The profile's statement.
 */
export function profileCapabilityStatement(full: CapabilityStatement, profile: ServerProfile): CapabilityStatement {
  const rest = full.rest?.[0];
  if (!rest) return full;
  const resource = (rest.resource ?? []).flatMap((entry): CapabilityStatementRestResource[] => {
    const rule = ruleFor(profile, entry.type);
    if (!rule) return [];
    if (entry.type === 'Subscription' && profile.notifications === 'none') return [];
    return [narrowResource(entry, rule, profile)];
  });
  return {
    ...full,
    ...(profile.software
      ? {
          software: profile.software,
          implementation: { ...full.implementation, description: `irecist-adapter sandbox, profile ${profile.name}` },
        }
      : {}),
    rest: [
      {
        ...rest,
        documentation: profile.documentation,
        // What the sandbox lists itself, narrowed (it answers system search and history without listing them).
        interaction: (rest.interaction ?? []).filter((i) => (profile.system as readonly string[]).includes(i.code)),
        resource,
      },
    ],
  };
}

function narrowResource(
  entry: CapabilityStatementRestResource,
  rule: ResourceRule,
  profile: ServerProfile,
): CapabilityStatementRestResource {
  const listed = new Set((entry.interaction ?? []).map((i) => i.code));
  const interactions = ALL_TYPE_INTERACTIONS.filter((code) => rule.interactions.includes(code) && listed.has(code));
  const params = rule.searchParams;
  const searchParam = (entry.searchParam ?? []).filter((p) => params === 'all' || params.includes(p.name));
  const narrowed: CapabilityStatementRestResource = {
    ...entry,
    interaction: interactions.map((code) => ({ code })),
    versioning: rule.versioning,
    readHistory: rule.interactions.includes('vread') || rule.interactions.includes('history-instance'),
    updateCreate: rule.interactions.includes('update') && profile.resources === undefined,
    conditionalCreate: rule.conditionalCreate,
    conditionalUpdate: rule.conditionalUpdate,
    conditionalDelete: rule.conditionalDelete ? 'single' : 'not-supported',
    searchParam,
  };
  if (!rule.interactions.includes('search-type')) delete narrowed.searchParam;
  if (profile.resources !== undefined) {
    delete narrowed.searchInclude;
    delete narrowed.searchRevInclude;
  }
  if (rule.operations !== 'all') {
    const operation = operationsOf(rule.operations);
    if (operation.length) narrowed.operation = operation;
    else delete narrowed.operation;
  }
  if (entry.type === 'Subscription' && profile.notifications === 'hapi') {
    narrowed.documentation =
      'Channel type rest-hook, HAPI style: PUT {endpoint}/{type}/{id} with the resource when a payload is set, ' +
      'an empty POST {endpoint} when it is not; deletes with the send-delete-messages extension.';
  }
  return narrowed;
}

function operationsOf(names: readonly string[]): CapabilityStatementRestResourceOperation[] {
  return names.map((name) => ({
    name,
    definition: OPERATION_DEFINITIONS[name] ?? `http://hl7.org/fhir/OperationDefinition/${name}`,
  }));
}
