/**
 * What a SMART app reads to launch against the sandbox: `.well-known/smart-configuration` and the `security`
 * element of the CapabilityStatement (the oauth-uris extension), pointing at the sandbox-only endpoints of
 * smart-authorization.ts. https://hl7.org/fhir/smart-app-launch/STU2/conformance.html
 */
import type { CapabilityStatementRestSecurity } from '@medplum/fhirtypes';

/** Where the sandbox's SMART endpoints are, below the adapter's origin. */
export const SMART_PATHS = {
  authorize: '/sandbox/smart/authorize',
  token: '/sandbox/smart/token',
  launch: '/sandbox/smart/launch',
  jwks: '/sandbox/smart/jwks',
} as const;

export type SmartEndpoints = Record<keyof typeof SMART_PATHS, string>;

/**
 * @param origin - The adapter's origin, e.g. http://127.0.0.1:8080.
 * @returns The absolute URLs of the sandbox's SMART endpoints.
 */
export function smartEndpoints(origin: string): SmartEndpoints {
  const base = origin.replace(/\/+$/, '');
  return {
    authorize: `${base}${SMART_PATHS.authorize}`,
    token: `${base}${SMART_PATHS.token}`,
    launch: `${base}${SMART_PATHS.launch}`,
    jwks: `${base}${SMART_PATHS.jwks}`,
  };
}

/** The `.well-known/smart-configuration` document. */
export function smartConfiguration(endpoints: SmartEndpoints, issuer: string): Record<string, unknown> {
  return {
    issuer,
    jwks_uri: endpoints.jwks,
    authorization_endpoint: endpoints.authorize,
    token_endpoint: endpoints.token,
    grant_types_supported: ['authorization_code'],
    token_endpoint_auth_methods_supported: ['none'],
    response_types_supported: ['code'],
    code_challenge_methods_supported: ['S256'],
    scopes_supported: ['openid', 'fhirUser', 'launch', 'launch/patient', 'patient/*.rs', 'user/*.rs'],
    capabilities: [
      'launch-ehr',
      'launch-standalone',
      'client-public',
      'context-ehr-patient',
      'context-standalone-patient',
      'permission-patient',
      'permission-v2',
      'sso-openid-connect',
    ],
  };
}

/** The CapabilityStatement's `rest.security`: SMART-on-FHIR with the oauth-uris extension. */
export function smartSecurity(endpoints: SmartEndpoints): CapabilityStatementRestSecurity {
  return {
    cors: true,
    service: [
      {
        coding: [{ system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'SMART-on-FHIR' }],
      },
    ],
    extension: [
      {
        url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris',
        extension: [
          { url: 'authorize', valueUri: endpoints.authorize },
          { url: 'token', valueUri: endpoints.token },
        ],
      },
    ],
    description: 'Sandbox only: the authorize endpoint signs the user in as a test clinician without a password.',
  };
}
