/**
 * The `hapi` profile: HAPI FHIR's usual JPA server statement. Every R4 type with every interaction, search parameter
 * and conditional request; batch and transaction; no Bulk Data `$export` (off by default in the HAPI JPA starter);
 * rest-hook Subscriptions delivered as HAPI delivers them (src/sandbox/hapi-rest-hook.ts): with a payload, `PUT
 * {endpoint}/{type}/{id}` of the resource; without one, an empty `POST {endpoint}`; deletes only with HAPI's
 * send-delete-messages extension. Refusals in HAPI's words (refusal-styles.ts).
 */
import { EVERYTHING, type ServerProfile } from './profile-model.ts';
import { hapiRefusal } from './refusal-styles.ts';

export const HAPI_PROFILE: ServerProfile = {
  name: 'hapi',
  software: { name: 'HAPI FHIR Server', version: '8.4.0' },
  documentation:
    'In-memory FHIR R4 sandbox imitating a HAPI FHIR JPA server (profile hapi): batch, transaction, conditional ' +
    'requests, rest-hook Subscriptions delivered as HAPI does; no $export.',
  system: ['transaction', 'batch', 'search-system', 'history-system'],
  systemOperations: [],
  everyType: { ...EVERYTHING, operations: [] },
  notifications: 'hapi',
  keepsCohortGroup: false,
  refuse: hapiRefusal,
};
