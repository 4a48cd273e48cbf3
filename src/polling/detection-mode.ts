/**
 * Which change-detection mode is in force (issue #9 item 2, contract section 5), chosen from the server's
 * CapabilityStatement unless CHANGE_DETECTION says: Subscriptions where the server offers them and the adapter
 * registers them; else a `_lastUpdated` search where the input types list that parameter; else a Group `$export`
 * with `_since` where Group lists `export` and a Group is configured; else the watch list (known patients searched by
 * the `date` parameters the server lists).
 * https://hl7.org/fhir/R4/capabilitystatement.html, https://hl7.org/fhir/uv/bulkdata/export.html#query-parameters
 */
import type { CapabilityStatement, CapabilityStatementRestResource } from '@medplum/fhirtypes';
import type { DetectionMode } from '../config/change-detection.ts';

/** The input types searched for changes, in the order the `_lastUpdated` search takes them. */
export const DETECTED_TYPES = ['Observation', 'ImagingStudy', 'MedicationAdministration', 'BodyStructure', 'Patient'];

/** Each input type's clinical date parameter (the watch list searches these, newest data first). */
export const DATE_PARAMS: Readonly<Record<string, string>> = {
  Observation: 'date',
  ImagingStudy: 'started',
  MedicationAdministration: 'effective-time',
};

/** What change detection needs to know of a server. */
export interface DetectionCapabilities {
  restHook: boolean;
  /** Input types whose search lists `_lastUpdated`. */
  lastUpdatedTypes: string[];
  /** Group lists the `export` operation (Bulk Data Group export). */
  groupExport: boolean;
  /** Input types with their listed date parameter (for the watch list). */
  dateParams: Record<string, string>;
  /** Input types whose search lists `patient` or `subject` (how the watch list names a patient). */
  patientParam: Record<string, 'patient' | 'subject'>;
}

/** The mode in force and why. */
export interface DetectionChoice {
  mode: DetectionMode;
  /** Said in the start-up log and /readyz. */
  reason: string;
  /** The Group exported (bulk-export). */
  groupId?: string;
  /** The types searched (last-updated, watch-list) or exported (bulk-export). */
  types: string[];
}

function paramsOf(resource: CapabilityStatementRestResource | undefined): Set<string> {
  if (!resource?.interaction?.some((i) => i.code === 'search-type')) return new Set();
  return new Set((resource.searchParam ?? []).map((p) => p.name));
}

/**
 * Reads what change detection needs from a CapabilityStatement.
 * @param cs - The server's CapabilityStatement.
 * @returns The detection capabilities.
 */
export function detectionCapabilities(cs: CapabilityStatement): DetectionCapabilities {
  const rest = cs.rest?.find((r) => r.mode === 'server') ?? cs.rest?.[0];
  const byType = new Map((rest?.resource ?? []).map((r) => [r.type as string, r]));
  const subscription = byType.get('Subscription');
  const restHook =
    subscription !== undefined &&
    (!subscription.interaction?.length || subscription.interaction.some((i) => i.code === 'create'));
  const lastUpdatedTypes = DETECTED_TYPES.filter((t) => paramsOf(byType.get(t)).has('_lastUpdated'));
  const groupExport = (byType.get('Group')?.operation ?? []).some((o) => o.name === 'export' || o.name === '$export');
  const dateParams: Record<string, string> = {};
  const patientParam: Record<string, 'patient' | 'subject'> = {};
  for (const type of DETECTED_TYPES) {
    const params = paramsOf(byType.get(type));
    const date = DATE_PARAMS[type];
    if (date && params.has(date)) dateParams[type] = date;
    if (params.has('patient')) patientParam[type] = 'patient';
    else if (params.has('subject')) patientParam[type] = 'subject';
  }
  return { restHook, lastUpdatedTypes, groupExport, dateParams, patientParam };
}

export interface ChoiceSettings {
  /** CHANGE_DETECTION, when set. */
  configured?: DetectionMode;
  /** Whether the adapter registers Subscriptions on this server (the sandbox, or SUBSCRIBE on). */
  subscribes: boolean;
  /** BULK_GROUP_ID (sandbox: `oncology`). */
  groupId?: string;
}

/**
 * Chooses the mode in force.
 * @param caps - The server's detection capabilities.
 * @param settings - The configuration.
 * @returns The mode, why, and what it searches or exports.
 */
export function chooseDetectionMode(caps: DetectionCapabilities, settings: ChoiceSettings): DetectionChoice {
  const watchTypes = Object.keys(caps.dateParams).filter((t) => caps.patientParam[t]);
  const exported = ['Patient', ...DETECTED_TYPES.filter((t) => t !== 'Patient')];
  const group = settings.groupId ? { groupId: settings.groupId } : {};
  switch (settings.configured) {
    case 'subscriptions':
      return { mode: 'subscriptions', reason: 'CHANGE_DETECTION=subscriptions', types: caps.lastUpdatedTypes };
    case 'last-updated':
      return { mode: 'last-updated', reason: 'CHANGE_DETECTION=last-updated', types: caps.lastUpdatedTypes };
    case 'bulk-export':
      return { mode: 'bulk-export', reason: 'CHANGE_DETECTION=bulk-export', ...group, types: exported };
    case 'watch-list':
      return { mode: 'watch-list', reason: 'CHANGE_DETECTION=watch-list', types: watchTypes };
    default:
      break;
  }
  if (caps.restHook && settings.subscribes) {
    return { mode: 'subscriptions', reason: 'the server offers rest-hook Subscriptions', types: caps.lastUpdatedTypes };
  }
  // The measurements are Observations: without `_lastUpdated` there, a search would miss what matters most.
  if (caps.lastUpdatedTypes.includes('Observation')) {
    const which = caps.lastUpdatedTypes.join(', ');
    return { mode: 'last-updated', reason: `_lastUpdated is listed for ${which}`, types: caps.lastUpdatedTypes };
  }
  if (caps.groupExport && settings.groupId) {
    const reason = `Group $export is listed and Group/${settings.groupId} is configured`;
    return { mode: 'bulk-export', reason, groupId: settings.groupId, types: exported };
  }
  const why = caps.groupExport ? 'no BULK_GROUP_ID for Group $export' : 'no Group $export';
  return {
    mode: 'watch-list',
    reason: `no Subscriptions, no _lastUpdated on Observation, ${why}`,
    types: watchTypes,
  };
}
