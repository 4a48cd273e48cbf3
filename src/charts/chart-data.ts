/**
 * The one adapter from the engine's Assessment to the plain chart model (shared/chart-model.ts). When the engine
 * renames a field, only this file changes. Values are what the engine used: the nadir each scan was compared with,
 * the size each target counted, the confirmation window it computed. Only the progression threshold line is derived
 * here, from the same rule as the engine (RECIST 1.1: at least +20 % and +5 mm over the nadir).
 */
import type { Assessment, TimepointAssessment } from '../domain/assess.ts';
import { sizeOf } from '../domain/lesion-roles.ts';
import { targetSize } from '../domain/recist.ts';
import type { Dose, LabValue, Lesion, MarkerSeries, Scan, Tenths } from '../domain/types.ts';
import type {
  ChartConfirmationWindow,
  ChartDate,
  ChartDose,
  ChartEvent,
  ChartLabPoint,
  ChartLabSeries,
  ChartLesion,
  ChartLesionRole,
  ChartLesionSize,
  ChartModel,
  ChartTimepoint,
} from './shared/chart-model.ts';

/** What the chart draws beside the Assessment: doses and laboratory series are in the mapped record only. */
export interface ChartRecord {
  doses?: readonly Dose[];
  ctdna?: readonly LabValue[];
  markers?: readonly MarkerSeries[];
}

export interface ChartDataOptions {
  /** The mapped patient record (doses, ctDNA, tumour markers). Without it, labs come from the latest evidence. */
  record?: ChartRecord;
  /** Draw only what was known on this date (a report's chart must not change when later scans arrive). */
  asOf?: ChartDate;
}

const mm = (t: Tenths): number => t / 10;
const oneDecimal = (v: number): number => Math.round(v * 10) / 10;
const byDate = <T extends { date: string }>(a: T, b: T): number => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0);

/** RECIST 1.1 progression threshold over a nadir: the larger of nadir x 1.2 and nadir + 5 mm, in tenths. */
function progressionThreshold(nadir: Tenths): Tenths {
  return Math.max(Math.ceil((nadir * 12) / 10), nadir + 50);
}

function timepointOf(tp: TimepointAssessment): ChartTimepoint {
  const point: ChartTimepoint = {
    date: tp.date,
    response: tp.response,
    status: tp.status,
    newLesionCount: tp.newLesions.count,
  };
  if (tp.target.sod !== undefined) point.sumMm = mm(tp.target.sod);
  if (tp.changeFromBaselinePct !== undefined) point.changeFromBaselinePct = oneDecimal(tp.changeFromBaselinePct);
  if (tp.nadirSod !== undefined) {
    point.nadirMm = mm(tp.nadirSod);
    point.progressionThresholdMm = mm(progressionThreshold(tp.nadirSod));
  }
  const { nltSum } = tp.newLesions;
  if (nltSum !== undefined && nltSum > 0) point.newLesionSumMm = mm(nltSum);
  return point;
}

function eventsOf(tp: TimepointAssessment): ChartEvent[] {
  const events: ChartEvent[] = [];
  const step = tp.step;
  if (tp.response === 'iUPD' && step.triggers && step.triggers.length > 0) {
    events.push({ date: tp.date, kind: 'iUPD', label: `iUPD ${tp.date}` });
  }
  if (tp.response === 'iCPD' && step.confirmedBy)
    events.push({ date: tp.date, kind: 'iCPD', label: `iCPD ${tp.date}` });
  if (step.reset) events.push({ date: tp.date, kind: 'reset', label: `reset ${tp.date}` });
  if (tp.hyperprogression?.hyperprogression) {
    events.push({ date: tp.date, kind: 'hyperprogression', label: `hyperprogression ${tp.date}` });
  }
  return events;
}

function windowsOf(timepoints: readonly TimepointAssessment[]): ChartConfirmationWindow[] {
  const byUpd = new Map<string, ChartConfirmationWindow>();
  for (const tp of timepoints) {
    const pending = tp.step.state.pending;
    if (tp.confirmationWindow && pending && !byUpd.has(pending.date)) {
      byUpd.set(pending.date, { updDate: pending.date, ...tp.confirmationWindow });
    }
  }
  return [...byUpd.values()];
}

function lesionSize(
  lesion: Lesion,
  role: ChartLesionRole,
  scan: Scan,
  assessment: Assessment,
  baselineSize: Tenths | undefined,
): ChartLesionSize {
  const entry: ChartLesionSize = { date: scan.date };
  const measurement = scan.measurements.find((m) => m.lesionId === lesion.id);
  const state = scan.qualitative.find((q) => q.lesionId === lesion.id)?.state;
  const size = role === 'target' ? targetSize(lesion, scan, assessment.profile) : sizeOf(lesion, measurement);
  if (measurement?.tooSmallToMeasure) entry.tooSmall = true;
  if (size !== undefined) entry.mm = mm(size);
  if (state !== undefined) entry.state = state;
  if (role === 'target' && size !== undefined && baselineSize !== undefined && baselineSize > 0) {
    entry.pctFromBaseline = oneDecimal(((size - baselineSize) * 100) / baselineSize);
  }
  return entry;
}

function lesionsOf(assessment: Assessment, scans: readonly Scan[]): ChartLesion[] {
  const roles: [ChartLesionRole, readonly Lesion[]][] = [
    ['target', assessment.roles.targets],
    ['non-target', assessment.roles.nonTargets],
    ['new', assessment.roles.newLesions],
  ];
  return roles.flatMap(([role, lesions]) =>
    lesions.map((lesion): ChartLesion => {
      const baseline = assessment.baseline;
      const baselineSize = role === 'target' && baseline ? targetSize(lesion, baseline, assessment.profile) : undefined;
      const sizes = scans
        .map((scan) => lesionSize(lesion, role, scan, assessment, baselineSize))
        .filter((s) => s.mm !== undefined || s.state !== undefined || s.tooSmall);
      return { id: lesion.id, role, nodal: lesion.nodal, sizes };
    }),
  );
}

function labPoint(v: LabValue): ChartLabPoint {
  const point: ChartLabPoint = { date: v.date };
  if (v.value !== undefined) point.value = v.value;
  if (v.detected !== undefined) point.detected = v.detected;
  return point;
}

/** One series per unit: a value in another unit is never drawn on the same axis. */
function labSeries(kind: ChartLabSeries['kind'], name: string, values: readonly LabValue[]): ChartLabSeries[] {
  const byUnit = new Map<string, LabValue[]>();
  for (const v of values) {
    if (v.value === undefined && v.detected === undefined) continue;
    const unit = v.value === undefined ? '' : (v.unit ?? '');
    byUnit.set(unit, [...(byUnit.get(unit) ?? []), v]);
  }
  // Qualitative results (no unit) join the only numeric series when there is exactly one.
  const qualitative = byUnit.get('') ?? [];
  const numericUnits = [...byUnit.keys()].filter((u) => u !== '').sort();
  if (numericUnits.length === 1 && qualitative.length > 0) {
    byUnit.set(numericUnits[0] as string, [...(byUnit.get(numericUnits[0] as string) ?? []), ...qualitative]);
    byUnit.delete('');
  }
  return [...byUnit.keys()].sort().map((unit) => ({
    kind,
    name,
    ...(unit ? { unit } : {}),
    points: [...(byUnit.get(unit) ?? [])].sort(byDate).map(labPoint),
  }));
}

function labsOf(
  record: ChartRecord | undefined,
  last: TimepointAssessment | undefined,
  asOf: ChartDate | undefined,
): ChartLabSeries[] {
  const upTo = <T extends { date: string }>(values: readonly T[]): T[] =>
    values.filter((v) => asOf === undefined || v.date <= asOf);
  const ctdna = record?.ctdna ?? last?.ctdna.values ?? [];
  const markers: MarkerSeries[] = record?.markers
    ? [...record.markers]
    : (last?.markers ?? []).map((m) => ({ name: m.name, values: [m.first, m.latest].filter((v) => v !== undefined) }));
  return [
    ...labSeries('ctdna', 'ctDNA', upTo(ctdna)),
    ...[...markers]
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .flatMap((m) => labSeries('marker', m.name, upTo(m.values))),
  ];
}

function dosesOf(record: ChartRecord | undefined, asOf: ChartDate | undefined): ChartDose[] {
  const seen = new Set<string>();
  const doses: ChartDose[] = [];
  for (const d of [...(record?.doses ?? [])].sort(
    (a, b) => byDate(a, b) || (a.drug < b.drug ? -1 : a.drug > b.drug ? 1 : 0),
  )) {
    const key = `${d.date}|${d.drug}`;
    if ((asOf !== undefined && d.date > asOf) || seen.has(key)) continue;
    seen.add(key);
    doses.push({ date: d.date, drug: d.drug });
  }
  return doses;
}

/** The sum of target sizes at a scan, or undefined when a target was not measured there. */
function sumAt(assessment: Assessment, scan: Scan): Tenths | undefined {
  let total = 0;
  for (const lesion of assessment.roles.targets) {
    const size = targetSize(lesion, scan, assessment.profile);
    if (size === undefined) return undefined;
    total += size;
  }
  return assessment.roles.targets.length > 0 ? total : undefined;
}

/**
 * The chart model of one patient's assessment.
 * @param assessment - The engine's assessment.
 * @param options - The mapped record (doses, labs) and the date the chart is drawn as of.
 * @returns The plain model the option builder draws.
 */
export function chartModelOf(assessment: Assessment, options: ChartDataOptions = {}): ChartModel {
  const { asOf, record } = options;
  const timepoints = assessment.timepoints.filter((tp) => asOf === undefined || tp.date <= asOf);
  const baselineScan = assessment.baseline;
  const model: ChartModel = {
    species: assessment.profile.species,
    timepoints: timepoints.map(timepointOf),
    events: timepoints.flatMap(eventsOf),
    confirmationWindows: windowsOf(timepoints),
    doses: dosesOf(record, asOf),
    lesions: lesionsOf(assessment, [...(baselineScan ? [baselineScan] : []), ...timepoints.map((tp) => tp.scan)]),
    labs: labsOf(record, timepoints.at(-1), asOf),
  };
  if (assessment.treatmentStart && (asOf === undefined || assessment.treatmentStart <= asOf)) {
    model.treatmentStart = assessment.treatmentStart;
  }
  const pre = assessment.preBaseline;
  if (pre && (asOf === undefined || pre.date <= asOf)) {
    const sod = sumAt(assessment, pre);
    model.preBaseline = { date: pre.date, ...(sod !== undefined ? { sumMm: mm(sod) } : {}) };
  }
  if (baselineScan) {
    const sod = assessment.baselineSod;
    model.baseline = {
      date: baselineScan.date,
      ...(sod !== undefined ? { sumMm: mm(sod), prThresholdMm: mm(Math.floor((sod * 7) / 10)) } : {}),
    };
  }
  return model;
}
