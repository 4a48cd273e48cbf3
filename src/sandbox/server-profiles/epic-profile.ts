/**
 * The `epic` profile, after Epic's published R4 CapabilityStatement (May 2026 release) as issue #9 describes it:
 * Flag read and search only; DiagnosticReport read, search and update, no create; Observation, DocumentReference and
 * BodyStructure create and update; no conditional create or update anywhere; no transaction or batch; no
 * Subscription; `_lastUpdated` a search parameter of DocumentReference only; Group-level `$export` (Bulk Data).
 *
 * Where the issue is silent the table keeps what the adapter reads and what a client of these resources needs, and
 * the README says so: read and search of Patient, ImagingStudy, MedicationAdministration, Medication, Provenance and
 * Group; the `identifier` search on the types the adapter writes (how it finds its own results without conditional
 * requests); versioned updates (If-Match, a conflict answered 409). Refusals in Epic's words (refusal-styles.ts).
 */
import { plainRule, type ServerProfile } from './profile-model.ts';
import { epicRefusal } from './refusal-styles.ts';

const READ_SEARCH = ['read', 'search-type'] as const;
const READ_SEARCH_WRITE = ['read', 'search-type', 'create', 'update'] as const;
const BY_PATIENT = ['_id', 'patient', 'subject'];

export const EPIC_PROFILE: ServerProfile = {
  name: 'epic',
  software: { name: 'Epic', version: 'May 2026' },
  documentation:
    'In-memory FHIR R4 sandbox imitating Epic (profile epic): no transaction or batch, no conditional requests, ' +
    'no Subscription, Flag read-only, DiagnosticReport without create, Group $export.',
  system: [],
  systemOperations: [],
  resources: {
    Patient: plainRule(READ_SEARCH, ['_id', 'identifier', 'name', 'family', 'given', 'birthdate', 'gender']),
    Observation: plainRule(READ_SEARCH_WRITE, [...BY_PATIENT, 'category', 'code', 'date', 'identifier']),
    ImagingStudy: plainRule(READ_SEARCH, [...BY_PATIENT, 'started', 'identifier']),
    MedicationAdministration: plainRule(READ_SEARCH, [...BY_PATIENT, 'effective-time', 'status']),
    Medication: plainRule(READ_SEARCH, ['_id', 'code']),
    BodyStructure: plainRule(READ_SEARCH_WRITE, ['_id', 'patient', 'identifier']),
    Flag: plainRule(READ_SEARCH, [...BY_PATIENT, 'category']),
    DiagnosticReport: plainRule(
      ['read', 'search-type', 'update'],
      [...BY_PATIENT, 'category', 'code', 'date', 'identifier'],
    ),
    DocumentReference: plainRule(READ_SEARCH_WRITE, [
      ...BY_PATIENT,
      'category',
      'type',
      'date',
      'identifier',
      'related',
      '_lastUpdated',
    ]),
    Provenance: plainRule(['read'], []),
    Group: plainRule(['read'], [], { operations: ['export'] }),
  },
  notifications: 'none',
  keepsCohortGroup: true,
  refuse: epicRefusal,
};
