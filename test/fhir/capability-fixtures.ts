/** Trimmed CapabilityStatements shaped like the ones Medplum and HAPI FHIR (JPA server) publish. */
import type { CapabilityStatement, CapabilityStatementRestResource } from '@medplum/fhirtypes';

const crud = [
  { code: 'read' },
  { code: 'vread' },
  { code: 'update' },
  { code: 'patch' },
  { code: 'delete' },
  { code: 'history-instance' },
  { code: 'create' },
  { code: 'search-type' },
] as CapabilityStatementRestResource['interaction'];

const TYPES = ['Patient', 'Observation', 'DiagnosticReport', 'Flag', 'Provenance', 'ImagingStudy', 'Subscription'];

export const medplumLike: CapabilityStatement = {
  resourceType: 'CapabilityStatement',
  id: 'medplum-server',
  name: 'MedplumCapabilityStatement',
  status: 'active',
  date: '2025-01-01T00:00:00Z',
  publisher: 'Medplum',
  kind: 'instance',
  instantiates: ['http://hl7.org/fhir/us/core/CapabilityStatement/us-core-server'],
  software: { name: 'medplum', version: '5.2.13' },
  implementation: { description: 'medplum', url: 'https://api.example.org/fhir/R4/' },
  fhirVersion: '4.0.1',
  format: ['json'],
  rest: [
    {
      mode: 'server',
      security: {
        extension: [
          {
            url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris',
            extension: [
              { url: 'authorize', valueUri: 'https://api.example.org/oauth2/authorize' },
              { url: 'token', valueUri: 'https://api.example.org/oauth2/token' },
            ],
          },
        ],
      },
      resource: TYPES.map((type) => ({
        type,
        interaction: crud,
        versioning: 'versioned',
        conditionalCreate: true,
        conditionalUpdate: true,
        conditionalDelete: 'single',
      })) as CapabilityStatementRestResource[],
      interaction: [{ code: 'transaction' }, { code: 'batch' }],
    },
  ],
};

export const hapiLike: CapabilityStatement = {
  resourceType: 'CapabilityStatement',
  status: 'active',
  date: '2025-01-01T00:00:00Z',
  publisher: 'Not provided',
  kind: 'instance',
  software: { name: 'HAPI FHIR Server', version: '8.0.0' },
  implementation: { description: 'HAPI FHIR R4 Server', url: 'http://hapi.example.org/fhir' },
  fhirVersion: '4.0.1',
  format: ['application/fhir+xml', 'json'],
  rest: [
    {
      mode: 'server',
      resource: TYPES.map((type) => ({
        type,
        profile: `http://hl7.org/fhir/StructureDefinition/${type}`,
        interaction: crud,
        versioning: 'versioned-update',
        readHistory: true,
        updateCreate: true,
        conditionalCreate: true,
        conditionalRead: 'full-support',
        conditionalUpdate: true,
        conditionalDelete: 'multiple',
      })) as CapabilityStatementRestResource[],
      interaction: [{ code: 'transaction' }, { code: 'history-system' }],
    },
  ],
};

/** A server with Subscriptions R5 Backport support, no batch/transaction and no conditional update. */
export const backportNoBatch: CapabilityStatement = {
  resourceType: 'CapabilityStatement',
  status: 'active',
  date: '2025-01-01T00:00:00Z',
  kind: 'instance',
  fhirVersion: '4.0.1',
  format: ['json'],
  instantiates: ['http://hl7.org/fhir/uv/subscriptions-backport/CapabilityStatement/backport-subscription-server-r4'],
  software: { name: 'Acme FHIR' },
  rest: [
    {
      mode: 'server',
      resource: [
        { type: 'Patient', interaction: [{ code: 'read' }] },
        {
          type: 'Subscription',
          supportedProfile: ['http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription'],
          interaction: [{ code: 'create' }, { code: 'read' }],
        },
      ],
    },
  ],
};
