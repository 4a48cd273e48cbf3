/**
 * Domain assessment -> the transaction Bundle the adapter writes: per post-baseline timepoint a timepoint
 * Observation and a DiagnosticReport (conditional update by identifier), the one Flag (or none) with superseded
 * ones set inactive, and a Provenance. Idempotent: writing it twice changes nothing.
 */
import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';
import type { Assessment } from '../domain/assess.ts';
import { conclusionText } from './conclusion-text.ts';
import { sourceAttributeLines } from './decision-support-source.ts';
import { fullUrlFor, identifierQuery } from './identifiers.ts';
import { lesionTable } from './lesion-table.ts';
import { timelineTable } from './timeline-table.ts';
import type { MappedPatient } from './to-domain.ts';
import { diagnosticReport } from './write-diagnostic-report.ts';
import { planFlags } from './write-flag.ts';
import { provenanceEntry } from './write-provenance.ts';
import { timepointObservation } from './write-timepoint-observation.ts';

export interface RenderOptions {
  /** Provenance.recorded; injectable so tests are deterministic. */
  now?: string;
}

export interface RenderResult {
  bundle: Bundle;
  /** Notes for the caller (e.g. a Flag not reactivated). */
  notes: string[];
}

const DERIVABLE = /^(Observation|ImagingStudy)\//;

/** Timepoints shown in a report's rendered summary (presentedForm): the most recent ones up to the report's own. */
export const SUMMARY_TIMEPOINTS = 12;

function conditionalPut<T extends Resource>(
  resource: T & { identifier?: { system?: string; value?: string }[] },
): BundleEntry<T> {
  const id = resource.identifier![0]!;
  return {
    fullUrl: fullUrlFor(id),
    resource,
    request: { method: 'PUT', url: `${resource.resourceType}?${identifierQuery(id)}` },
  };
}

export function toTransaction(
  assessment: Assessment,
  mapped: MappedPatient,
  options: RenderOptions = {},
): RenderResult {
  const { patientRef } = mapped;
  const patientId = mapped.record.patientId;
  const entries: BundleEntry[] = [];
  let latestReportUrl: string | undefined;
  for (const [position, tp] of assessment.timepoints.entries()) {
    const derivedFrom = [
      ...tp.scan.imagingStudies,
      ...(mapped.sourcesByDate.get(tp.date) ?? []),
      ...(assessment.baseline ? (mapped.sourcesByDate.get(assessment.baseline.date) ?? []) : []),
    ].filter((r) => DERIVABLE.test(r));
    const obsEntry = conditionalPut(timepointObservation(tp, patientRef, patientId, [...new Set(derivedFrom)].sort()));
    const conclusion = conclusionText(assessment, tp);
    const rendered = [
      conclusion,
      `Lesions\n${lesionTable(tp)}`,
      `Timeline\n${timelineTable(assessment, { through: position, recent: SUMMARY_TIMEPOINTS })}`,
      `About this result (decision support source attributes, ONC HTI-1)\n${sourceAttributeLines().join('\n')}`,
    ].join('\n\n');
    const report = conditionalPut(diagnosticReport(tp, patientRef, patientId, obsEntry.fullUrl!, conclusion, rendered));
    latestReportUrl = report.fullUrl;
    entries.push(obsEntry, report);
  }
  const flags = planFlags(assessment, patientRef, patientId, latestReportUrl, mapped.existingFlags);
  entries.push(...flags.entries);
  if (entries.length > 0) {
    const keyOf = (e: BundleEntry) =>
      `${e.resource!.resourceType}|${(e.resource as { identifier?: { value?: string }[] }).identifier?.[0]?.value ?? e.fullUrl}`;
    const decided = [
      ...entries.filter((e) => e.resource?.resourceType !== 'Flag').map(keyOf),
      `Flag|${flags.wantedKey ?? 'none'}`,
    ];
    const targets = entries.map((e) => e.fullUrl!);
    entries.push(
      provenanceEntry(patientId, targets, decided, mapped.usedSources, options.now ?? new Date().toISOString()),
    );
  }
  return {
    bundle: { resourceType: 'Bundle', type: 'transaction', entry: entries },
    notes: flags.note ? [flags.note] : [],
  };
}
