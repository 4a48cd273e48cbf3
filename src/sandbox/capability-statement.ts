/**
 * The sandbox's CapabilityStatement (`GET /metadata`): every R4 resource type with the interactions the
 * sandbox implements, the search parameters its matcher can answer, batch + transaction at system level, and
 * rest-hook Subscriptions (R4 has no element for channel types, so it is said in an extension and in the
 * documentation of the Subscription resource entry), and Bulk Data `$export` at system, Patient and Group level.
 * https://hl7.org/fhir/R4/capabilitystatement.html
 */
import { getResourceTypes, globalSchema } from '@medplum/core';
import type {
  CapabilityStatement,
  CapabilityStatementRestResource,
  CapabilityStatementRestResourceSearchParam,
  CapabilityStatementRestSecurity,
} from '@medplum/fhirtypes';

/** Extension on rest.resource[Subscription] listing the supported channel types (valueCode, repeated). */
export const SUBSCRIPTION_CHANNEL_TYPE_EXTENSION =
  'https://irecist-adapter.dev/fhir/StructureDefinition/capabilitystatement-subscription-channel-type';

const RESOURCE_INTERACTIONS = [
  'read',
  'vread',
  'update',
  'patch',
  'delete',
  'history-instance',
  'create',
  'search-type',
] as const;

/** Bulk Data Access IG v2 export operations (system, Patient and Group level). */
const BULK_DATA = 'http://hl7.org/fhir/uv/bulkdata';
const BULK_EXPORT_OPERATIONS: Readonly<Record<string, string>> = {
  Patient: `${BULK_DATA}/OperationDefinition/patient-export`,
  Group: `${BULK_DATA}/OperationDefinition/group-export`,
};

const SEARCHABLE_TYPES = new Set(['token', 'reference', 'string', 'uri', 'date']);

export interface SoftwareInfo {
  readonly name: string;
  readonly version: string;
}

/**
 * @param baseUrl - The sandbox's FHIR base.
 * @param software - Name and version reported.
 * @param security - SMART-on-FHIR security (the sandbox's SMART endpoints), when the service mounts them.
 */
export function buildCapabilityStatement(
  baseUrl: string,
  software: SoftwareInfo,
  security?: CapabilityStatementRestSecurity,
): CapabilityStatement {
  const resource = getResourceTypes()
    .sort()
    .map((type): CapabilityStatementRestResource => {
      const entry: CapabilityStatementRestResource = {
        type,
        interaction: RESOURCE_INTERACTIONS.map((code) => ({ code })),
        versioning: 'versioned-update',
        readHistory: true,
        updateCreate: true,
        conditionalCreate: true,
        conditionalRead: 'not-supported',
        conditionalUpdate: true,
        conditionalDelete: 'single',
        referencePolicy: ['literal', 'local'],
        searchInclude: ['*'],
        searchRevInclude: ['*'],
        searchParam: searchParams(type),
      };
      const bulk = BULK_EXPORT_OPERATIONS[type];
      if (bulk) entry.operation = [{ name: 'export', definition: bulk }];
      if (type === 'Subscription') {
        entry.documentation =
          'Channel type rest-hook, Medplum style: POST of the resource (or {} on delete) with X-Medplum-Subscription, ' +
          'X-Medplum-Interaction, X-Medplum-Deleted-Resource and X-Signature headers.';
        entry.extension = [{ url: SUBSCRIPTION_CHANNEL_TYPE_EXTENSION, valueCode: 'rest-hook' }];
      }
      return entry;
    });

  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: new Date().toISOString(),
    kind: 'instance',
    software: { name: software.name, version: software.version },
    implementation: { description: 'irecist-adapter embedded sandbox FHIR server', url: baseUrl },
    instantiates: [`${BULK_DATA}/CapabilityStatement/bulk-data`],
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'json'],
    rest: [
      {
        mode: 'server',
        documentation: 'In-memory FHIR R4 sandbox; data is lost on restart.',
        ...(security ? { security } : {}),
        interaction: [{ code: 'transaction' }, { code: 'batch' }],
        operation: [{ name: 'export', definition: `${BULK_DATA}/OperationDefinition/export` }],
        resource,
      },
    ],
  };
}

function searchParams(resourceType: string): CapabilityStatementRestResourceSearchParam[] {
  const params = globalSchema.types[resourceType]?.searchParams ?? {};
  return Object.entries(params)
    .filter(([, p]) => SEARCHABLE_TYPES.has(p.type) && p.expression)
    .map(([name, p]) => ({
      name,
      definition: p.url,
      type: p.type as CapabilityStatementRestResourceSearchParam['type'],
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}
