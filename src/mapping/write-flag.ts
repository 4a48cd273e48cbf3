/**
 * The chart Flag (profile progression-flag; contract section 2): at most one active Flag per patient from the
 * adapter. A superseded Flag is set inactive with period.end, never deleted; a Flag a clinician set inactive is
 * not reactivated for the same state (same status, same episode start = same identifier).
 */
import type { BundleEntry, Flag } from '@medplum/fhirtypes';
import { EXTENSION, IDENTIFIER_SYSTEM, IRECIST_SYSTEM, PROFILE, SYSTEM } from '../codes.ts';
import type { Assessment, TimepointAssessment } from '../domain/assess.ts';
import type { FlagPriority } from '../domain/status.ts';
import { STATUS_DISPLAY } from './displays.ts';
import { flagText } from './flag-text.ts';
import { fullUrlFor, identifierQuery, ids, uuidFrom } from './identifiers.ts';

const PRIORITY_CODE: Record<FlagPriority, { code: string; display: string }> = {
  low: { code: 'PL', display: 'Low priority' },
  medium: { code: 'PM', display: 'Medium priority' },
  high: { code: 'PH', display: 'High priority' },
};

export interface FlagPlan {
  entries: BundleEntry<Flag>[];
  /** Why no Flag was (re)activated, when a clinician's decision was respected. */
  note?: string;
  /** Identifier value of the Flag that should be active (written or already as wanted); undefined for none. */
  wantedKey?: string;
}

/** Flag content as the adapter decides it: without server-assigned fields and the report reference (whose id the server assigns). */
function decidedContent(f: Flag): string {
  const { meta: _m, id: _i, text: _t, extension, ...rest } = f;
  return JSON.stringify({ ...rest, extension: (extension ?? []).filter((e) => e.url !== EXTENSION.flagDetail) });
}

const adapterIdentifier = (f: Flag) => (f.identifier ?? []).find((i) => i.system === IDENTIFIER_SYSTEM)?.value;

/** The first date of the current run of `tp.status` (the Flag's episode start). */
export function statusSince(timepoints: readonly TimepointAssessment[], index: number): string {
  let i = index;
  while (i > 0 && timepoints[i - 1]!.status === timepoints[index]!.status) i--;
  return timepoints[i]!.date;
}

/**
 * The end of a superseded Flag's period: the latest assessment, never before the period's start (FHIR invariant
 * per-1, https://hl7.org/fhir/R4/datatypes.html#Period): a Flag whose episode started after the timepoint that ends
 * it (a retracted scan, a moved baseline) ends where it started.
 */
export function periodEnd(start: string | undefined, end: string | undefined): string | undefined {
  if (!end) return start;
  if (!start) return end;
  const s = Date.parse(start);
  const e = Date.parse(end);
  return Number.isFinite(s) && Number.isFinite(e) && e < s ? start : end;
}

export function planFlags(
  assessment: Assessment,
  patientRef: string,
  patientId: string,
  latestReportFullUrl: string | undefined,
  existing: readonly Flag[],
): FlagPlan {
  const timepoints = assessment.timepoints;
  const latest = timepoints.at(-1);
  const entries: BundleEntry<Flag>[] = [];
  let wanted: Flag | undefined;
  let note: string | undefined;
  if (latest?.flagPriority && latestReportFullUrl) {
    const since = statusSince(timepoints, timepoints.length - 1);
    const identifier = ids.flag(patientId, latest.status, since);
    const text = `${flagText(assessment, latest, since)} Latest assessment: ${latest.date}.`;
    wanted = {
      resourceType: 'Flag',
      meta: { profile: [PROFILE.flag] },
      extension: [
        { url: EXTENSION.flagDetail, valueReference: { reference: latestReportFullUrl } },
        {
          url: EXTENSION.flagPriority,
          valueCodeableConcept: { coding: [{ system: SYSTEM.flagPriority, ...PRIORITY_CODE[latest.flagPriority] }] },
        },
      ],
      identifier: [identifier],
      status: 'active',
      category: [{ coding: [{ system: SYSTEM.flagCategory, code: 'clinical', display: 'Clinical' }] }],
      code: { coding: [{ system: IRECIST_SYSTEM, code: latest.status, display: STATUS_DISPLAY[latest.status] }], text },
      subject: { reference: patientRef },
      period: { start: since },
    };
    const same = existing.find((f) => adapterIdentifier(f) === identifier.value);
    if (same?.status === 'inactive' || same?.status === 'entered-in-error') {
      note = 'The Flag for this state was set inactive in the chart; it is not reactivated.';
      wanted = undefined;
    } else if (same?.id && decidedContent({ ...wanted, meta: same.meta }) === decidedContent(same)) {
      // Already as wanted: writing it again would only add a version.
    } else if (same?.id) {
      const update: Flag = { ...wanted, id: same.id };
      entries.push({
        fullUrl: fullUrlFor(identifier),
        resource: update,
        request: {
          method: 'PUT',
          url: `Flag/${same.id}`,
          ...(same.meta?.versionId ? { ifMatch: `W/"${same.meta.versionId}"` } : {}),
        },
      });
    } else {
      entries.push({
        fullUrl: fullUrlFor(identifier),
        resource: wanted,
        request: { method: 'POST', url: 'Flag', ifNoneExist: identifierQuery(identifier) },
      });
    }
  }
  const wantedId = wanted?.identifier?.[0]?.value;
  const end = latest?.date;
  for (const f of existing) {
    if (f.status !== 'active' || !f.id || adapterIdentifier(f) === wantedId) continue;
    const inactive: Flag = { ...f, status: 'inactive', period: { ...f.period, end: periodEnd(f.period?.start, end) } };
    entries.push({
      fullUrl: `urn:uuid:${uuidFrom(`superseded|${f.id}|${f.meta?.versionId ?? ''}`)}`,
      resource: inactive,
      request: {
        method: 'PUT',
        url: `Flag/${f.id}`,
        ...(f.meta?.versionId ? { ifMatch: `W/"${f.meta.versionId}"` } : {}),
      },
    });
  }
  return { entries, note, wantedKey: wantedId };
}
