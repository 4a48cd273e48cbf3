/**
 * The `medplum` profile (the default): the sandbox as it always was. Every R4 type with every interaction, search
 * parameter, conditional request and operation the sandbox implements; batch and transaction; Medplum's rest-hook
 * notifications (signed POSTs of the resource).
 */
import { EVERYTHING, type ServerProfile } from './profile-model.ts';
import { medplumRefusal } from './refusal-styles.ts';

export const MEDPLUM_PROFILE: ServerProfile = {
  name: 'medplum',
  documentation: 'In-memory FHIR R4 sandbox; data is lost on restart. Behaves like Medplum (profile medplum).',
  system: ['transaction', 'batch', 'search-system', 'history-system'],
  systemOperations: 'all',
  everyType: EVERYTHING,
  notifications: 'medplum',
  keepsCohortGroup: false,
  refuse: medplumRefusal,
};
