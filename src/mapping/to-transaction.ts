/**
 * Domain assessment -> the transaction Bundle the adapter writes (contract section 2): per post-baseline timepoint a
 * timepoint Observation, an mCODE CancerDiseaseStatus Observation and the report (a DiagnosticReport, or a
 * DocumentReference where the server cannot create one), all conditional updates by identifier; the one Flag (or
 * none) with superseded ones set inactive; and a Provenance. Which of these are rendered follows `outputs`
 * (rendered-outputs.ts). Idempotent: writing it twice changes nothing.
 */
import type { Attachment, Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';
import type { Assessment, TimepointAssessment } from '../domain/assess.ts';
import { conclusionText } from './conclusion-text.ts';
import { sourceAttributeLines } from './decision-support-source.ts';
import { fullUrlFor, identifierQuery } from './identifiers.ts';
import { lesionTable } from './lesion-table.ts';
import { nextStepText } from './next-step-text.ts';
import { FULL_SERVER_OUTPUTS, type RenderedOutputs, rendersReport } from './rendered-outputs.ts';
import { firstChartedPosition, reportChartSvg, SVG_CONTENT_TYPE } from './report-chart.ts';
import { timelineTable } from './timeline-table.ts';
import type { MappedPatient } from './to-domain.ts';
import { diagnosticReport } from './write-diagnostic-report.ts';
import { diseaseStatusObservation } from './write-disease-status.ts';
import { reportDocument } from './write-document-reference.ts';
import { planFlags } from './write-flag.ts';
import { provenanceEntry } from './write-provenance.ts';
import { timepointObservation } from './write-timepoint-observation.ts';

export type { RenderedOutputs } from './rendered-outputs.ts';

export interface RenderOptions {
  /** Provenance.recorded; injectable so tests are deterministic. */
  now?: string;
  /** Which outputs to render (default: a full FHIR server, FULL_SERVER_OUTPUTS). */
  outputs?: RenderedOutputs;
  /** How many of the most recent reports carry the chart (default CHART_REPORTS). */
  chartReports?: number;
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

/** The report's attachments: the rendered text, and the chart when this report carries one. */
function reportAttachments(tp: TimepointAssessment, text: string, chart: string | undefined): Attachment[] {
  const attachments: Attachment[] = [
    {
      contentType: 'text/plain; charset=utf-8',
      language: 'en',
      title: `iRECIST assessment ${tp.date}`,
      data: Buffer.from(text, 'utf8').toString('base64'),
    },
  ];
  if (chart !== undefined) {
    attachments.push({
      contentType: SVG_CONTENT_TYPE,
      title: `Tumour burden as of ${tp.date}`,
      data: Buffer.from(chart, 'utf8').toString('base64'),
    });
  }
  return attachments;
}

function renderedText(assessment: Assessment, tp: TimepointAssessment, position: number, conclusion: string): string {
  return [
    conclusion,
    `Lesions\n${lesionTable(tp)}`,
    `Timeline\n${timelineTable(assessment, { through: position, recent: SUMMARY_TIMEPOINTS })}`,
    `About this result (decision support source attributes, ONC HTI-1)\n${sourceAttributeLines().join('\n')}`,
  ].join('\n\n');
}

/** The entries of one timepoint, in reference order (what an entry points to comes before it). */
function timepointEntries(
  assessment: Assessment,
  mapped: MappedPatient,
  position: number,
  outputs: Required<RenderedOutputs>,
  withChart: boolean,
): { entries: BundleEntry[]; report?: string } {
  const tp = assessment.timepoints[position]!;
  const { patientRef } = mapped;
  const patientId = mapped.record.patientId;
  const entries: BundleEntry[] = [];
  let observationUrl: string | undefined;
  if (outputs.observation) {
    const derivedFrom = [
      ...tp.scan.imagingStudies,
      ...(mapped.sourcesByDate.get(tp.date) ?? []),
      ...(assessment.baseline ? (mapped.sourcesByDate.get(assessment.baseline.date) ?? []) : []),
    ].filter((r) => DERIVABLE.test(r));
    const obsEntry = conditionalPut(timepointObservation(tp, patientRef, patientId, [...new Set(derivedFrom)].sort()));
    observationUrl = obsEntry.fullUrl;
    entries.push(obsEntry);
  }
  let documentUrl: string | undefined;
  let reportUrl: string | undefined;
  if (rendersReport(outputs)) {
    const conclusion = conclusionText(assessment, tp);
    const chart = withChart ? reportChartSvg(assessment, mapped.record, tp.date) : undefined;
    const attachments = reportAttachments(tp, renderedText(assessment, tp, position, conclusion), chart);
    if (outputs.documentReference) {
      const related = [...tp.scan.imagingStudies, ...(observationUrl ? [observationUrl] : [])];
      const doc = conditionalPut(reportDocument(tp, { patientRef, patientId, attachments, related }));
      documentUrl = doc.fullUrl;
      entries.push(doc);
    }
    if (outputs.diagnosticReport && observationUrl) {
      // The profile requires result -> the timepoint Observation: no report without it.
      const report = conditionalPut(
        diagnosticReport(tp, patientRef, patientId, observationUrl, conclusion, attachments),
      );
      reportUrl = report.fullUrl;
      entries.push(report);
    }
  }
  let statusUrl: string | undefined;
  if (outputs.observation) {
    const focus = [...new Set(tp.lesions.map((l) => mapped.bodyStructures.get(l.id)).filter((r) => r !== undefined))];
    const derivedFrom = [
      ...(observationUrl ? [observationUrl] : []),
      ...tp.scan.imagingStudies,
      ...(documentUrl ? [documentUrl] : []),
    ];
    const status = conditionalPut(
      diseaseStatusObservation(tp, {
        patientRef,
        patientId,
        focus: focus.sort(),
        derivedFrom,
        nextStep: nextStepText(assessment, tp),
      }),
    );
    statusUrl = status.fullUrl;
    entries.push(status);
  }
  // What the Flag's flag-detail points to: the report, else the note that carries it, else the disease status.
  return { entries, report: reportUrl ?? documentUrl ?? statusUrl };
}

/**
 * Renders an assessment as the transaction the adapter writes.
 * @param assessment - The engine's assessment.
 * @param mapped - The mapped patient (references, sources, existing Flags, BodyStructures).
 * @param options - `now` (Provenance.recorded), `outputs` (which resources to render), `chartReports`.
 * @returns The transaction Bundle and notes for the caller.
 */
export function toTransaction(
  assessment: Assessment,
  mapped: MappedPatient,
  options: RenderOptions = {},
): RenderResult {
  const outputs: Required<RenderedOutputs> = { ...FULL_SERVER_OUTPUTS, ...options.outputs };
  outputs.observation = options.outputs?.observation ?? true;
  const chartFrom = firstChartedPosition(assessment.timepoints.length, options.chartReports);
  const patientId = mapped.record.patientId;
  const entries: BundleEntry[] = [];
  let latestReportUrl: string | undefined;
  for (const position of assessment.timepoints.keys()) {
    const rendered = timepointEntries(assessment, mapped, position, outputs, position >= chartFrom);
    latestReportUrl = rendered.report;
    entries.push(...rendered.entries);
  }
  const flags = planFlags(assessment, mapped.patientRef, patientId, latestReportUrl, mapped.existingFlags);
  if (outputs.flag) entries.push(...flags.entries);
  if (entries.length > 0 && outputs.provenance) {
    const keyOf = (e: BundleEntry) =>
      `${e.resource!.resourceType}|${(e.resource as { identifier?: { value?: string }[] }).identifier?.[0]?.value ?? e.fullUrl}`;
    const decided = [
      ...entries.filter((e) => e.resource?.resourceType !== 'Flag').map(keyOf),
      ...(outputs.flag ? [`Flag|${flags.wantedKey ?? 'none'}`] : []),
    ];
    const targets = entries.map((e) => e.fullUrl!);
    entries.push(
      provenanceEntry(patientId, targets, decided, mapped.usedSources, options.now ?? new Date().toISOString()),
    );
  }
  return {
    bundle: { resourceType: 'Bundle', type: 'transaction', entry: entries },
    notes: outputs.flag && flags.note ? [flags.note] : [],
  };
}
