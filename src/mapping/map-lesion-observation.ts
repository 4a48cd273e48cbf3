/**
 * A lesion Observation (TumorSize, or a non-target lesion status) into the scan it belongs to: its lesion, its role,
 * and only when it was measured by imaging or clinical examination (read-measurement-method.ts).
 */
import type { Observation } from '@medplum/fhirtypes';
import type { QualitativeAssessment } from '../domain/types.ts';
import { datePart } from '../fhir-model/dates.ts';
import { asArray, isObject, refOf, versionedRefOf } from './fhir-helpers.ts';
import type { MappingContext } from './mapping-context.ts';
import { readMeasurementMethod } from './read-measurement-method.ts';
import { readNonTargetStatus } from './read-non-target-status.ts';
import { readRole, readTumorSize } from './read-tumor-size.ts';

function addTumorSize(ctx: MappingContext, obs: Observation, lesionId: string): void {
  const source = refOf(obs);
  const reading = readTumorSize(obs, ctx.issues);
  if (!reading) return;
  const date = ctx.scanDateOf(obs, reading.date);
  if (!date) {
    ctx.issues.push({
      code: 'measurement-without-date',
      text: 'A measurement has neither an ImagingStudy nor a date and was not used.',
      source,
    });
    return;
  }
  const scan = ctx.scanAt(date);
  const existing = scan.measurements.find((m) => m.lesionId === lesionId);
  const { role: _role, date: _date, ...sizes } = reading;
  if (existing) {
    ctx.issues.push({
      code: 'duplicate-measurement',
      text: `The lesion was measured more than once on ${date}; the values were merged, later ones winning.`,
      source,
      date,
    });
    Object.assign(existing, sizes);
    existing.sources.push(versionedRefOf(obs));
  } else scan.measurements.push({ lesionId, ...sizes, sources: [versionedRefOf(obs)] });
  ctx.use(obs, date);
}

function addNonTargetStatus(ctx: MappingContext, obs: Observation, lesionId: string): void {
  const state = readNonTargetStatus(obs, ctx.issues);
  const effective = obs.effectiveDateTime ?? obs.effectivePeriod?.start ?? obs.issued;
  const date = ctx.scanDateOf(obs, datePart(effective));
  if (!state) return;
  if (!date) {
    ctx.issues.push({
      code: 'measurement-without-date',
      text: 'A lesion status has neither an ImagingStudy nor a date and was not used.',
      source: refOf(obs),
    });
    return;
  }
  const q: QualitativeAssessment = { lesionId, state, sources: [versionedRefOf(obs)] };
  const scan = ctx.scanAt(date);
  scan.qualitative = [...scan.qualitative.filter((x) => x.lesionId !== lesionId), q];
  ctx.use(obs, date);
}

/** Maps a counted lesion Observation: `kind` says which of the two it is. */
export function mapLesionObservation(ctx: MappingContext, obs: Observation, kind: 'size' | 'status'): void {
  const focus = ctx.resolve(asArray(obs.focus).find(isObject));
  if (focus && ctx.foreignBodies.has(focus)) {
    ctx.issues.push({
      code: 'lesion-of-other-patient',
      text: "A measurement's lesion (its focus BodyStructure) belongs to another patient; the measurement was not used.",
      source: refOf(obs),
    });
    return;
  }
  const lesionId = ctx.lesionOf(obs);
  if (!lesionId) {
    ctx.issues.push({
      code: 'measurement-without-lesion',
      text: 'A lesion Observation has no focus BodyStructure and was not used.',
      source: refOf(obs),
    });
    return;
  }
  const notCounted = readMeasurementMethod(obs);
  if (notCounted) {
    ctx.issues.push(notCounted);
    return;
  }
  const role = readRole(obs, ctx.issues);
  const lesion = ctx.lesions.get(lesionId)!;
  if (role && !lesion.explicitRole) lesion.explicitRole = role;
  if (kind === 'size') addTumorSize(ctx, obs, lesionId);
  else addNonTargetStatus(ctx, obs, lesionId);
}
