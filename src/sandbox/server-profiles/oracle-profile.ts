/**
 * The `oracle` profile, after Oracle Health's published Millennium R4 CapabilityStatement and R4 overview
 * (fhir.cerner.com, docs.oracle.com mfrap): no Flag and no BodyStructure; Observation and DocumentReference create
 * and update; DiagnosticReport read and search; `_lastUpdated` on Observation, DiagnosticReport and
 * DocumentReference; no transaction or batch, no conditional requests, no Subscription; an update with an out-of-date
 * version answered 409.
 *
 * Departures, said in the README: ImagingStudy read and search are kept (Millennium's R4 API has no ImagingStudy, and
 * without scans there is no timepoint to assess); `identifier` search on the types the adapter writes; Oracle's Bulk
 * Data export, a separate service, is not imitated. Refusals in Oracle's terms (refusal-styles.ts).
 */
import { plainRule, type ServerProfile } from './profile-model.ts';
import { oracleRefusal } from './refusal-styles.ts';

const READ_SEARCH = ['read', 'search-type'] as const;
const READ_SEARCH_WRITE = ['read', 'search-type', 'create', 'update'] as const;
const BY_PATIENT = ['_id', 'patient', 'subject'];

export const ORACLE_PROFILE: ServerProfile = {
  name: 'oracle',
  software: { name: 'Oracle Health Millennium Platform', version: 'R4 2026' },
  documentation:
    'In-memory FHIR R4 sandbox imitating Oracle Health Millennium (profile oracle): no Flag, no BodyStructure, no ' +
    'transaction or batch, no conditional requests, no Subscription; _lastUpdated on Observation.',
  system: [],
  systemOperations: [],
  resources: {
    Patient: plainRule(READ_SEARCH, ['_id', 'identifier', 'name', 'family', 'given', 'birthdate', 'gender']),
    Observation: plainRule(READ_SEARCH_WRITE, [
      ...BY_PATIENT,
      'category',
      'code',
      'date',
      'identifier',
      '_lastUpdated',
    ]),
    ImagingStudy: plainRule(READ_SEARCH, [...BY_PATIENT, 'started']),
    MedicationAdministration: plainRule(READ_SEARCH, [...BY_PATIENT, 'effective-time', 'status']),
    Medication: plainRule(READ_SEARCH, ['_id', 'code']),
    DiagnosticReport: plainRule(READ_SEARCH, [...BY_PATIENT, 'category', 'code', 'date', 'identifier', '_lastUpdated']),
    DocumentReference: plainRule(READ_SEARCH_WRITE, [
      ...BY_PATIENT,
      'category',
      'type',
      'date',
      'period',
      'identifier',
      '_lastUpdated',
    ]),
    Provenance: plainRule(READ_SEARCH, ['_id', 'target']),
  },
  notifications: 'none',
  keepsCohortGroup: false,
  refuse: oracleRefusal,
};
