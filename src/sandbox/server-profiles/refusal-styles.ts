/**
 * How each imitated server refuses what it does not support: the HTTP status and the OperationOutcome. Where a
 * vendor's answer is published (HAPI's messages, Epic's error code 4100, Oracle Health's status table) it is
 * followed; where it is not, the choice is said in the README ("Sandbox server profiles") and here.
 */
import type { OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';
import type { Refusal, RefusalAnswer } from './profile-model.ts';

/** Epic's OperationOutcome code system (details.coding.system of every Epic error). */
export const EPIC_ERROR_SYSTEM = 'urn:oid:1.2.840.114350.1.13.0.1.7.2.657369';

function answer(status: number, issue: OperationOutcomeIssue): RefusalAnswer {
  const outcome: OperationOutcome = { resourceType: 'OperationOutcome', issue: [issue] };
  return { status, outcome };
}

/** What the refused request asked, in words (no patient data: types, interactions, parameter names only). */
export function describeRefusal(refusal: Refusal): string {
  switch (refusal.kind) {
    case 'type':
      return `Resource type ${refusal.resourceType} is not supported`;
    case 'interaction':
      return refusal.resourceType
        ? `The ${refusal.interaction} interaction is not supported for ${refusal.resourceType}`
        : `The ${refusal.interaction} interaction is not supported`;
    case 'search-param':
      return `Search parameter ${refusal.param} is not supported for ${refusal.resourceType}`;
    case 'conditional':
      return `Conditional ${refusal.interaction} is not supported for ${refusal.resourceType}`;
    case 'operation':
      return refusal.resourceType
        ? `Operation $${refusal.operation} is not supported for ${refusal.resourceType}`
        : `Operation $${refusal.operation} is not supported`;
    case 'version-conflict':
      return `${refusal.resourceType}/${refusal.id} has a newer version than the one given in If-Match`;
  }
}

/**
 * HAPI FHIR (JPA server): an unknown type is a 404 (ResourceNotFoundException), an unknown search parameter a 400
 * with HAPI-0524 and the valid ones listed, any other unsupported request a 400 "does not know how to handle", a
 * version conflict a 409 (ResourceVersionConflictException).
 */
export function hapiRefusal(refusal: Refusal): RefusalAnswer {
  switch (refusal.kind) {
    case 'type':
      return answer(404, {
        severity: 'error',
        code: 'processing',
        diagnostics: `Unknown resource type '${refusal.resourceType}' - Server knows how to handle: [${refusal.offered.join(', ')}]`,
      });
    case 'search-param':
      return answer(400, {
        severity: 'error',
        code: 'processing',
        diagnostics:
          `HAPI-0524: Unknown search parameter "${refusal.param}" for resource type "${refusal.resourceType}". ` +
          `Valid search parameters for this search are: [${refusal.offered.join(', ')}]`,
      });
    case 'version-conflict':
      return answer(409, { severity: 'error', code: 'conflict', diagnostics: describeRefusal(refusal) });
    default:
      return answer(400, {
        severity: 'error',
        code: 'not-supported',
        diagnostics: `Invalid request: The FHIR endpoint on this server does not know how to handle this request. ${describeRefusal(refusal)}`,
      });
  }
}

/**
 * Epic: an unlisted search parameter is refused with Epic's code 4100 ("The resource request contained an invalid
 * parameter", severity fatal), a version conflict is a 409. Epic publishes no answer for an interaction it does not
 * offer; the sandbox answers 404 for a type with no endpoint and 405 for an interaction the type lacks (conditional
 * requests and transactions included), each with a `not-supported` issue. A real Epic server may instead ignore an
 * unknown search parameter with a 4122 warning in a 200 searchset: refusing is the safer imitation (a filter
 * silently dropped would return every resource), and the adapter must never send one either way.
 */
export function epicRefusal(refusal: Refusal): RefusalAnswer {
  const text = describeRefusal(refusal);
  switch (refusal.kind) {
    case 'search-param':
      return answer(400, {
        severity: 'fatal',
        code: 'processing',
        details: {
          coding: [
            {
              system: EPIC_ERROR_SYSTEM,
              code: '4100',
              display: 'The resource request contained an invalid parameter.',
            },
          ],
          text: 'The resource request contained an invalid parameter.',
        },
        diagnostics: `Invalid parameter '${refusal.param}'.`,
      });
    case 'version-conflict':
      return answer(409, { severity: 'fatal', code: 'conflict', details: { text }, diagnostics: text });
    case 'type':
      return answer(404, { severity: 'fatal', code: 'not-supported', details: { text } });
    default:
      return answer(405, { severity: 'fatal', code: 'not-supported', details: { text } });
  }
}

/**
 * Oracle Health (Millennium R4): its published client errors are 400 for a search it cannot run, 404 for what does
 * not exist (a type it does not offer), 409 for an update with an out-of-date version and 422 for a body its rules
 * refuse; an interaction a type lacks (transactions and conditional requests included) is answered 405.
 */
export function oracleRefusal(refusal: Refusal): RefusalAnswer {
  const text = describeRefusal(refusal);
  switch (refusal.kind) {
    case 'search-param':
      return answer(400, { severity: 'error', code: 'not-supported', details: { text } });
    case 'version-conflict':
      return answer(409, { severity: 'error', code: 'conflict', details: { text } });
    case 'type':
      return answer(404, { severity: 'error', code: 'not-found', details: { text } });
    default:
      return answer(405, { severity: 'error', code: 'not-supported', details: { text } });
  }
}

/** The sandbox's own answers (Medplum profile): 404 for a type, 412 for a version conflict, 405 otherwise. */
export function medplumRefusal(refusal: Refusal): RefusalAnswer {
  const text = describeRefusal(refusal);
  if (refusal.kind === 'version-conflict') {
    return answer(412, { severity: 'error', code: 'processing', details: { text: 'Precondition Failed' } });
  }
  if (refusal.kind === 'type') return answer(404, { severity: 'error', code: 'not-found', details: { text } });
  if (refusal.kind === 'search-param') return answer(400, { severity: 'error', code: 'invalid', details: { text } });
  return answer(405, { severity: 'error', code: 'not-supported', details: { text } });
}
