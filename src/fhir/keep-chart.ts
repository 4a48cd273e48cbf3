/**
 * A report keeps the chart it was written with. Only the most recent reports are drawn at each assessment
 * (src/mapping/report-chart.ts, CHART_REPORTS: drawing costs 15-130 ms); an older report that is otherwise unchanged
 * would lose its chart, and gain one more version, each time a later scan arrives. Its chart is drawn as of its own
 * date, so the one on the server is still right exactly when the rest of the report is unchanged: it is carried
 * over only then, and a report whose content changed goes out without a stale chart.
 */
import type { Attachment, Resource } from '@medplum/fhirtypes';
import { SVG_CONTENT_TYPE } from '../mapping/report-chart.ts';
import { contentDigest, recordedDigest } from './ownership.ts';

const isChart = (a: Attachment | undefined): a is Attachment => a?.contentType === SVG_CONTENT_TYPE;

/** The SVG attachment of a DiagnosticReport (presentedForm) or DocumentReference (content), if any. */
function chartOf(resource: Resource): Attachment | undefined {
  if (resource.resourceType === 'DiagnosticReport') return resource.presentedForm?.find(isChart);
  if (resource.resourceType === 'DocumentReference') return resource.content?.map((c) => c.attachment).find(isChart);
  return undefined;
}

function withChart(resource: Resource, chart: Attachment): Resource {
  if (resource.resourceType === 'DiagnosticReport') {
    return { ...resource, presentedForm: [...(resource.presentedForm ?? []), chart] };
  }
  if (resource.resourceType === 'DocumentReference') {
    return { ...resource, content: [...resource.content, { attachment: chart }] };
  }
  return resource;
}

/**
 * The rendered report with the chart of the adapter's current version carried over, when the rendered one has none
 * and is otherwise what the server holds; else the rendered report as it is.
 * @param rendered - The report as rendered now.
 * @param current - The adapter's version on the server, still as it left it.
 */
export function keepWrittenChart(rendered: Resource, current: Resource): Resource {
  if (chartOf(rendered) !== undefined) return rendered;
  const chart = chartOf(current);
  if (chart === undefined) return rendered;
  const kept = withChart(rendered, chart);
  return contentDigest(kept) === recordedDigest(current) ? kept : rendered;
}
