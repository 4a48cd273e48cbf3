/**
 * The middle of every flow (architecture.md): map FHIR -> domain, assess (pure), render domain -> FHIR.
 * Used by `assess` (a Bundle file), the service worker (a patient's context read from the server) and
 * `backfill` (NDJSON).
 */
import type { Bundle, Resource } from '@medplum/fhirtypes';
import type { ChartThreads } from '../charts/chart-threads.ts';
import { type Assessment, assessPatient } from '../domain/assess.ts';
import type { ImmunotherapyCatalogue } from '../mapping/immunotherapy-catalogue.ts';
import { readBundle } from '../mapping/read-bundle.ts';
import type { RenderedOutputs } from '../mapping/rendered-outputs.ts';
import { drawReportChartsAhead } from '../mapping/report-chart.ts';
import { type MappedPatient, mapToDomain } from '../mapping/to-domain.ts';
import { toTransaction } from '../mapping/to-transaction.ts';
import { defaultCatalogue } from './default-catalogue.ts';

export interface PipelineOptions {
  catalogue?: ImmunotherapyCatalogue;
  ctdnaCodes?: readonly { system: string; code: string }[];
  aliases?: Map<string, string>;
  /** Provenance.recorded (tests pin it). */
  now?: string;
  /** Which outputs to render for the server (default: a full FHIR server; the writer derives it from capabilities). */
  outputs?: RenderedOutputs;
  /** How many of the most recent reports carry the tumour-burden chart (default CHART_REPORTS: mapping/report-chart.ts). */
  chartReports?: number;
}

export interface PipelineResult {
  transaction: Bundle;
  assessment: Assessment;
  mapped: MappedPatient;
  notes: string[];
}

/**
 * JSON can give a value an own `toString` or `valueOf` that is not a function; converting that value (or an array or
 * object holding it) to a string or number throws a TypeError, wherever in the pipeline that happens. No FHIR
 * resource has such a property, so when the pipeline throws a TypeError, the resources holding one are set aside,
 * listed like any other unusable input, and the rest assessed. Checked only then: a walk of every input would cost
 * every assessment a few per cent.
 */
const CONVERSION_KEYS: ReadonlySet<string> = new Set(['toString', 'valueOf']);

/** True when the value has a conversion key at any depth (walked without recursion: input nesting is unbounded). */
function breaksConversion(root: unknown): boolean {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const value = stack.pop();
    if (typeof value !== 'object' || value === null) continue;
    for (const key of Object.keys(value)) {
      if (CONVERSION_KEYS.has(key)) return true;
      stack.push((value as Record<string, unknown>)[key]);
    }
  }
  return false;
}

export function assessResources(resources: Resource[], options: PipelineOptions = {}): PipelineResult {
  try {
    return render(prepare(resources, [], options), options);
  } catch (err) {
    const rest = withoutUnusable(resources, err);
    return render(prepare(rest.usable, rest.unusable, options), options);
  }
}

/**
 * The same pipeline, with the tumour-burden charts the rendering will draw drawn first elsewhere (the chart thread:
 * src/charts/chart-threads.ts) and memoised, so the rendering finds them and the caller's event loop stays free.
 * @param resources - The patient's resources.
 * @param options - As for assessResources.
 * @param threads - The chart thread.
 * @returns The same result as assessResources.
 */
export async function assessResourcesDrawingAhead(
  resources: Resource[],
  options: PipelineOptions,
  threads: ChartThreads,
): Promise<PipelineResult> {
  const run = async (usable: Resource[], unusable: Resource[]): Promise<PipelineResult> => {
    const prepared = prepare(usable, unusable, options);
    await drawReportChartsAhead(prepared.assessment, prepared.mapped.record, options, threads);
    return render(prepared, options);
  };
  try {
    return await run(resources, []);
  } catch (err) {
    const rest = withoutUnusable(resources, err);
    return run(rest.usable, rest.unusable);
  }
}

/** After a TypeError, the resources that caused it set aside (see CONVERSION_KEYS); any other error rethrown. */
function withoutUnusable(resources: Resource[], err: unknown): { usable: Resource[]; unusable: Resource[] } {
  if (!(err instanceof TypeError)) throw err;
  const unusable = resources.filter(breaksConversion);
  if (unusable.length === 0) throw err;
  return { usable: resources.filter((r) => !unusable.includes(r)), unusable };
}

interface Prepared {
  mapped: MappedPatient;
  assessment: Assessment;
}

/** FHIR -> domain and the assessment (pure). */
function prepare(resources: Resource[], unusable: Resource[], options: PipelineOptions): Prepared {
  const mapped = mapToDomain(resources, {
    catalogue: options.catalogue ?? defaultCatalogue(),
    ctdnaCodes: options.ctdnaCodes,
    aliases: options.aliases,
  });
  for (const r of unusable) {
    const id = typeof r.id === 'string' ? r.id : undefined;
    mapped.record.issues.push({
      code: 'malformed-resource',
      text: 'A resource holds a property no FHIR resource has (toString or valueOf) and was not used.',
      ...(id !== undefined && typeof r.resourceType === 'string' ? { source: `${r.resourceType}/${id}` } : {}),
    });
  }
  return { mapped, assessment: assessPatient(mapped.record) };
}

/** Domain -> FHIR: the transaction. */
function render({ mapped, assessment }: Prepared, options: PipelineOptions): PipelineResult {
  const { bundle, notes } = toTransaction(assessment, mapped, {
    now: options.now,
    outputs: options.outputs,
    chartReports: options.chartReports,
  });
  return { transaction: bundle, assessment, mapped, notes };
}

/** A parsed Bundle of one patient's resources in, the transaction out. */
export function assessBundle(input: unknown, options: PipelineOptions = {}): PipelineResult {
  const { resources, aliases } = readBundle(input);
  return assessResources(resources, { ...options, aliases });
}
