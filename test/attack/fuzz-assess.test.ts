/**
 * Property-based fuzzing of `assess` (src/pipeline/assess-resources.ts assessBundle, and the command line for a few
 * files): arbitrary JSON, and FHIR-shaped patient Bundles whose Observations, ImagingStudies and
 * MedicationAdministrations carry random codes, units, values (NaN strings, 1e999, huge and negative numbers), missing
 * and impossible dates, and prototype-pollution keys. assess either refuses with the documented bad-input
 * OperationOutcome (400) or returns a transaction Bundle: valid (every written resource against base R4 and the
 * profiles, no NaN or Infinity), and listing every input it could not use ("Data not used or uncertain" in the
 * reports). No other error, no hang, no polluted prototype.
 *
 * Seeded: FUZZ_SEED re-runs a failure, FUZZ_RUNS makes a longer drill (test/attack/fuzz-settings.ts).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DiagnosticReport, Resource } from '@medplum/fhirtypes';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INPUT, IRECIST_SYSTEM, NON_TARGET_VALUE, PROFILE, SYSTEM } from '../../src/codes.ts';
import { datePart } from '../../src/fhir-model/dates.ts';
import { OutcomeError } from '../../src/fhir-model/outcomes.ts';
import { isAdapterWritten } from '../../src/fhir-model/resource-owner.ts';
import { readBundle } from '../../src/mapping/read-bundle.ts';
import { assessBundle, type PipelineResult } from '../../src/pipeline/assess-resources.ts';
import { ROOT, runCli } from '../cli/run-cli.ts';
import { indexDefinitions, validateWritten } from '../support/fhir-validation/validate.ts';
import { announceSeed, FUZZ_SEED, fuzz, propertyTimeout } from './fuzz-settings.ts';
import {
  deeplyNested,
  hostileNumber,
  hostileString,
  type Pairs,
  pairs,
  pollutionObject,
  pollutionSeen,
  prototypeSnapshot,
  raw,
  shortHostileLeaf,
  toJsonText,
  withMember,
} from './hostile-json.ts';

const NOW = '2027-01-01T00:00:00Z';
const prototypesBefore = prototypeSnapshot();
const tmp = mkdtempSync(join(tmpdir(), 'irecist-fuzz-assess-'));

beforeAll(() => {
  announceSeed('fuzz-assess');
  indexDefinitions(); // once, outside the properties' time
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// ---------------------------------------------------------------------------------------------------------------
// The oracle

type Verdict = { kind: 'refused'; status: number } | { kind: 'assessed'; result: PipelineResult };

/** assess on JSON text: the documented refusal (an OutcomeError, 400) or a result; anything else fails. */
function assessText(text: string): Verdict {
  const input = JSON.parse(text) as unknown;
  try {
    return { kind: 'assessed', result: assessBundle(input, { now: NOW }) };
  } catch (err) {
    if (!(err instanceof OutcomeError)) {
      const e = err as Error;
      throw new Error(`assess threw ${e?.name}: ${e?.message}\n${e?.stack}`);
    }
    expect(err.status).toBe(400);
    expect(err.outcome.resourceType).toBe('OperationOutcome');
    expect(err.outcome.issue?.length).toBeGreaterThan(0);
    return { kind: 'refused', status: err.status };
  }
}

function nonFiniteNumbers(root: unknown): string[] {
  const found: string[] = [];
  const stack: [unknown, string][] = [[root, '']];
  while (stack.length > 0) {
    const [value, path] = stack.pop() as [unknown, string];
    if (typeof value === 'number' && !Number.isFinite(value)) found.push(path);
    if (value !== null && typeof value === 'object')
      for (const [k, v] of Object.entries(value)) stack.push([v, `${path}.${k}`]);
  }
  return found;
}

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Inputs the output need not name: statuses that do not count, the adapter's own, studies used as scan dates. */
function silentlyIgnored(r: Resource): boolean {
  if (isAdapterWritten(r)) return true;
  const status = (r as { status?: unknown }).status; // compared, never converted: it may be any JSON value
  if (r.resourceType === 'Observation') return status === 'entered-in-error';
  // A study with a usable date is a scan date: used, though only a timepoint's studies are named in its report.
  if (r.resourceType === 'ImagingStudy')
    return (
      status === 'cancelled' ||
      status === 'entered-in-error' ||
      datePart((r as { started?: string }).started) !== undefined
    );
  if (r.resourceType === 'MedicationAdministration') return status !== 'completed' && status !== 'in-progress';
  return false;
}

/** The output is a transaction Bundle that can be written; every input it did not use is named in it. */
function checkAssessed(input: unknown, result: PipelineResult, validate: boolean): void {
  const tx = result.transaction;
  expect(tx.resourceType).toBe('Bundle');
  expect(tx.type).toBe('transaction');
  for (const entry of tx.entry ?? []) {
    expect(typeof entry.resource?.resourceType).toBe('string');
    expect(['POST', 'PUT']).toContain(entry.request?.method);
    expect(typeof entry.request?.url).toBe('string');
  }
  const text = JSON.stringify(tx); // what the CLI prints and the worker sends: must not throw
  expect(nonFiniteNumbers(tx), 'NaN or Infinity in the output (written as null)').toEqual([]);
  if (validate) {
    for (const entry of tx.entry ?? []) {
      const errors = validateWritten(entry.resource as Resource).filter(
        (i) => i.severity === 'error' || i.severity === 'fatal',
      );
      expect(
        errors,
        `${entry.resource?.resourceType} does not validate: ${JSON.stringify(errors).slice(0, 600)}`,
      ).toEqual([]);
    }
  }

  const reports = (tx.entry ?? []).filter((e) => e.resource?.resourceType === 'DiagnosticReport');
  if (reports.length === 0) return; // nothing written, so nothing to list in
  const conclusions = reports.map((e) => (e.resource as DiagnosticReport).conclusion ?? '').join('\n');
  const unlisted: string[] = [];
  for (const r of readBundle(input).resources) {
    if (!['Observation', 'ImagingStudy', 'MedicationAdministration'].includes(r.resourceType)) continue;
    if (silentlyIgnored(r)) continue;
    const ref = `${r.resourceType}/${r.id}`;
    // Used inputs are named in derivedFrom / imagingStudy / Provenance.entity, unused ones in a conclusion.
    if (new RegExp(`${escapeRegExp(ref)}(?![A-Za-z0-9\\-.])`).test(text)) continue;
    if (r.resourceType === 'MedicationAdministration' && /are not immunotherapy/.test(conclusions)) continue;
    unlisted.push(ref);
  }
  expect(unlisted, 'inputs neither used nor listed under "Data not used or uncertain"').toEqual([]);
  for (const type of new Set(
    readBundle(input)
      .resources.filter((r) => !isAdapterWritten(r))
      .map((r) => r.resourceType),
  )) {
    if (
      ['Observation', 'ImagingStudy', 'MedicationAdministration', 'Patient', 'BodyStructure', 'Medication'].includes(
        type,
      )
    )
      continue;
    if (type === 'Flag') continue; // the adapter's own Flags are read back; others are counted below when present
    expect(conclusions, `${type} resources not mentioned`).toContain(`${type} resource(s) are not inputs`);
  }
}

function checkPrototypes(): void {
  expect(pollutionSeen()).toEqual([]);
  expect(prototypeSnapshot()).toEqual(prototypesBefore);
}

// ---------------------------------------------------------------------------------------------------------------
// FHIR-shaped patient Bundles

const fhirId = fc.stringMatching(/^[A-Za-z0-9-]{1,24}$/);
const DAY = 86_400_000;
const BASELINE = Date.parse('2026-01-05T00:00:00Z');
const isoDay = (offsetDays: number): string => new Date(BASELINE + offsetDays * DAY).toISOString().slice(0, 10);

/** A date as an input may carry it: mostly plausible, sometimes impossible, missing or not a date at all. */
const weirdDate = fc.oneof(
  fc.constantFrom(
    '2026',
    '2026-02',
    '2026-02-30',
    '2026-13-01',
    '2026-00-10',
    '99999-01-01',
    '0000-01-01',
    '1900-01-01',
    '2026-01-05T25:00:00Z',
    '2026-01-05T09:30:00+14:00',
    '2026-01-05T23:30:00-12:00',
    '2026-01-05T09:30:00.123456789Z',
    '',
    'yesterday',
    '05/01/2026',
  ),
  shortHostileLeaf,
);
const dateFor = (offsetDays: number) =>
  fc.oneof(
    { weight: 8, arbitrary: fc.constant(isoDay(offsetDays)) },
    { weight: 2, arbitrary: fc.constant(`${isoDay(offsetDays)}T09:30:00Z`) },
    { weight: 1, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: weirdDate },
  );

const sizeValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 0, max: 150 }) },
  { weight: 2, arbitrary: fc.double({ min: 0, max: 250, noNaN: true }) },
  { weight: 2, arbitrary: hostileNumber },
  { weight: 1, arbitrary: fc.integer({ min: -1_000, max: -1 }) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>('NaN', '12', '1e3', '-5', '', null, true, {}, [], 'Infinity') },
);
const unit = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('mm', 'cm') },
  {
    weight: 2,
    arbitrary: fc.constantFrom('m', 'um', '[in_i]', 'km', 'mm2', 'cm3', 'MM', 'Cm', '', 'mm ', '%', 'furlong'),
  },
  { weight: 1, arbitrary: hostileString },
);
const quantity = fc
  .record(
    {
      value: sizeValue,
      unit,
      code: unit,
      system: fc.constantFrom<unknown>(SYSTEM.ucum, 'http://example.org/units', 42),
      comparator: fc.constantFrom<unknown>('<', '<=', '>', '>=', 'about', 7),
    },
    { requiredKeys: ['value'] },
  )
  .map((q) => ({ ...q, code: q.code ?? q.unit, system: q.system ?? SYSTEM.ucum }));
const observationStatus = fc.oneof(
  { weight: 8, arbitrary: fc.constant('final') },
  {
    weight: 3,
    arbitrary: fc.constantFrom('amended', 'corrected', 'preliminary', 'registered', 'cancelled', 'entered-in-error'),
  },
  { weight: 1, arbitrary: shortHostileLeaf },
);
const coding = (system: string, code: string) => ({ coding: [{ system, code }] });
const randomCode = fc.oneof(
  fc.record({
    coding: fc.array(
      fc.record({ system: fc.oneof(fc.webUrl(), shortHostileLeaf), code: fc.oneof(fc.string(), shortHostileLeaf) }),
      { maxLength: 2 },
    ),
  }),
  shortHostileLeaf,
);
/** Extra members on any resource: harmless JSON, hostile leaves, prototype-pollution objects and keys. */
const extras = fc.array(
  fc.tuple(
    fc.oneof(
      fc.constantFrom('__proto__', 'constructor', 'prototype', 'extension', 'note', 'contained'),
      fc.string({ maxLength: 8 }),
    ),
    fc.oneof(shortHostileLeaf, pollutionObject),
  ),
  { maxLength: 2 },
);

interface Shape {
  patientId: string;
  lesions: number;
  scanDays: number[];
}

const shape = fc.record({
  patientId: fhirId,
  lesions: fc.integer({ min: 1, max: 5 }),
  scanDays: fc
    .uniqueArray(fc.integer({ min: 0, max: 420 }), { minLength: 1, maxLength: 7 })
    .map((d) => [0, ...d].sort((a, b) => a - b)),
});

/** One patient's Bundle around a plausible scan schedule, every part of which may be wrong. */
function patientBundle(s: Shape): fc.Arbitrary<string> {
  const pref = `Patient/${s.patientId}`;
  const subject = fc.oneof(
    { weight: 12, arbitrary: fc.constant({ reference: pref }) },
    { weight: 1, arbitrary: fc.constant({ reference: 'Patient/someone-else' }) },
    {
      weight: 1,
      arbitrary: fc.constantFrom<unknown>(undefined, { reference: `urn:uuid:${s.patientId}` }, 'Patient', {}),
    },
  );
  const lesionIds = Array.from({ length: s.lesions }, (_, i) => `${s.patientId}-L${i + 1}`);
  const studyIds = s.scanDays.map((_, i) => `${s.patientId}-S${i}`);

  const patient = fc
    .record({
      animal: fc.constantFrom<unknown>(
        undefined,
        {
          url: 'http://hl7.org/fhir/StructureDefinition/patient-animal',
          extension: [{ url: 'species', valueCodeableConcept: coding(SYSTEM.snomed, INPUT.dog.code) }],
        },
        {
          url: 'http://hl7.org/fhir/StructureDefinition/patient-animal',
          extension: [{ url: 'species', valueCodeableConcept: coding(SYSTEM.snomed, '448169003') }],
        },
        { url: 'http://hl7.org/fhir/StructureDefinition/patient-animal', extension: 'dog' },
      ),
      extra: extras,
    })
    .map(({ animal, extra }) =>
      pairs([
        ['resourceType', 'Patient'],
        ['id', s.patientId],
        ...(animal ? [['extension', [animal]] as [string, unknown]] : []),
        ...extra,
      ]),
    );
  const bodyStructures = fc.tuple(
    ...lesionIds.map((id) =>
      fc
        .record({
          location: fc.oneof(
            fc.constantFrom(
              coding(SYSTEM.snomed, '10200004'),
              coding(SYSTEM.snomed, '39607008'),
              coding(SYSTEM.snomed, INPUT.lymphNode.code),
            ),
            randomCode,
          ),
          present: fc.boolean().map((b) => b || id.endsWith('L1')),
          extra: extras,
        })
        .map(({ location, present, extra }) =>
          present
            ? [
                pairs([
                  ['resourceType', 'BodyStructure'],
                  ['id', id],
                  ['location', location],
                  ['patient', { reference: pref }],
                  ...extra,
                ]),
              ]
            : [],
        ),
    ),
  );
  const studies = fc.tuple(
    ...s.scanDays.map((day, i) =>
      fc
        .record({
          status: fc.oneof(
            { weight: 6, arbitrary: fc.constant('available') },
            { weight: 1, arbitrary: fc.constantFrom('cancelled', 'entered-in-error', 'registered') },
            { weight: 1, arbitrary: shortHostileLeaf },
          ),
          started: dateFor(day),
          subject,
          present: fc.boolean(),
          extra: extras,
        })
        .map(({ status, started, subject: subj, present, extra }) =>
          present
            ? [
                pairs([
                  ['resourceType', 'ImagingStudy'],
                  ['id', studyIds[i] as string],
                  ['status', status],
                  ...(started === undefined ? [] : [['started', started] as [string, unknown]]),
                  ['subject', subj],
                  ...extra,
                ]),
              ]
            : [],
        ),
    ),
  );
  const measurement = (lesion: number, scan: number) =>
    fc
      .record({
        present: fc.oneof({ weight: 5, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
        kind: fc.oneof(
          { weight: 6, arbitrary: fc.constant('size') },
          { weight: 1, arbitrary: fc.constant('non-target') },
          { weight: 1, arbitrary: fc.constant('random') },
        ),
        status: observationStatus,
        effective: dateFor(s.scanDays[scan] as number),
        longest: quantity,
        shortAxis: fc.option(quantity, { nil: undefined }),
        componentCode: fc.oneof(
          { weight: 8, arbitrary: fc.constant(coding(SYSTEM.loinc, INPUT.longestDiameter.code)) },
          { weight: 1, arbitrary: randomCode },
        ),
        state: fc.oneof(fc.constantFrom(...Object.values(NON_TARGET_VALUE).map((c) => ({ coding: [c] }))), randomCode),
        role: fc.constantFrom<unknown>(undefined, undefined, 'target', 'non-target', 'new', 'bogus', 7),
        focus: fc.oneof(
          { weight: 8, arbitrary: fc.constant([{ reference: `BodyStructure/${lesionIds[lesion]}` }]) },
          {
            weight: 1,
            arbitrary: fc.constantFrom<unknown>(
              undefined,
              [{ reference: 'BodyStructure/nowhere' }],
              [{ identifier: { value: `id-${lesion}` } }],
              [{}],
              'L1',
            ),
          },
        ),
        derivedFrom: fc.boolean(),
        subject,
        extra: extras,
      })
      .map((m) => {
        if (!m.present) return [];
        const code =
          m.kind === 'size'
            ? coding(SYSTEM.loinc, INPUT.tumorSize.code)
            : m.kind === 'non-target'
              ? coding(IRECIST_SYSTEM, INPUT.nonTargetStatus.code)
              : m.componentCode;
        const body: [string, unknown][] = [
          ['resourceType', 'Observation'],
          ['id', `${lesionIds[lesion]}-t${scan}`],
          ['status', m.status],
          ['code', code],
          ['subject', m.subject],
        ];
        if (m.effective !== undefined) body.push(['effectiveDateTime', m.effective]);
        if (m.focus !== undefined) body.push(['focus', m.focus]);
        if (m.derivedFrom) body.push(['derivedFrom', [{ reference: `ImagingStudy/${studyIds[scan]}` }]]);
        if (m.role !== undefined) body.push(['extension', [{ url: PROFILE.lesionRole, valueCode: m.role }]]);
        if (m.kind === 'non-target') body.push(['valueCodeableConcept', m.state]);
        else
          body.push([
            'component',
            [
              { code: m.componentCode, valueQuantity: m.longest },
              ...(m.shortAxis
                ? [{ code: coding(SYSTEM.snomed, INPUT.shortAxis.code), valueQuantity: m.shortAxis }]
                : []),
            ],
          ]);
        return [pairs([...body, ...m.extra])];
      });
  const measurements = fc.tuple(...lesionIds.flatMap((_, l) => s.scanDays.map((_, t) => measurement(l, t))));
  const drug = fc.oneof(
    { weight: 4, arbitrary: fc.constant({ medicationCodeableConcept: coding(SYSTEM.rxnorm, '1547545') }) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        { medicationCodeableConcept: { text: 'Nivolumab 240 mg' } },
        { medicationCodeableConcept: { text: 'aspirin' } },
      ),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        { medicationReference: { reference: '#m1' } },
        { medicationReference: { reference: 'Medication/nowhere' } },
        { medicationReference: { display: 'pembrolizumab' } },
      ),
    },
    { weight: 1, arbitrary: randomCode.map((c) => ({ medicationCodeableConcept: c })) },
  );
  const doses = fc.array(
    fc.record({
      day: fc.integer({ min: -30, max: 300 }),
      status: fc.oneof(
        { weight: 6, arbitrary: fc.constant('completed') },
        { weight: 1, arbitrary: fc.constantFrom('in-progress', 'not-done', 'stopped', 'entered-in-error') },
        { weight: 1, arbitrary: shortHostileLeaf },
      ),
      drug,
      dateForm: fc.constantFrom('effectiveDateTime', 'effectivePeriod', 'none', 'weird'),
      weird: weirdDate,
      subject,
      extra: extras,
    }),
    { maxLength: 4 },
  );
  const labs = fc.array(
    fc.record({
      code: fc.constantFrom(
        coding(IRECIST_SYSTEM, INPUT.ctdnaTumorFraction.code),
        coding(SYSTEM.loinc, INPUT.ecog.code),
        coding(SYSTEM.loinc, '2039-6'),
        coding(SYSTEM.loinc, '2857-1'),
        coding(SYSTEM.loinc, '8302-2'),
      ),
      day: fc.integer({ min: -30, max: 420 }),
      value: fc.oneof(
        quantity.map((q) => ['valueQuantity', q] as [string, unknown]),
        sizeValue.map((v) => ['valueInteger', v] as [string, unknown]),
      ),
      status: observationStatus,
      extra: extras,
    }),
    { maxLength: 4 },
  );
  const others = fc.array(
    fc.record({
      type: fc.constantFrom('Condition', 'Encounter', 'Flag', 'Procedure', 'Spaceship', 'DiagnosticReport'),
      id: fhirId,
      adapterWritten: fc.boolean(),
      extra: extras,
    }),
    { maxLength: 2 },
  );
  const envelope = fc.record({
    type: fc.oneof(
      { weight: 6, arbitrary: fc.constant('collection') },
      { weight: 2, arbitrary: fc.constantFrom('transaction', 'batch', 'searchset', 'history') },
    ),
    fullUrls: fc.constantFrom('absolute', 'urn', 'none'),
    shuffleSeed: fc.nat(),
    patients: fc.oneof(
      { weight: 10, arbitrary: fc.constant('one') },
      { weight: 1, arbitrary: fc.constantFrom('none', 'two') },
    ),
    // Two versions of some resources: the newer one wins, by meta.versionId (which may be anything).
    versions: fc.array(
      fc.tuple(
        fc.nat(),
        fc.oneof(fc.nat({ max: 9 }).map(String), shortHostileLeaf),
        fc.oneof(fc.nat({ max: 9 }).map(String), shortHostileLeaf),
      ),
      { maxLength: 2 },
    ),
    extra: extras,
  });

  return fc
    .tuple(patient, bodyStructures, studies, measurements, doses, labs, others, envelope)
    .map(([pat, bodies, sts, meas, ds, ls, os, env]) => {
      const resources: unknown[] = [pat, ...bodies.flat(), ...sts.flat(), ...meas.flat()];
      ds.forEach((d, i) => {
        const body: [string, unknown][] = [
          ['resourceType', 'MedicationAdministration'],
          ['id', `${s.patientId}-ma${i}`],
          ['status', d.status],
          ...(Object.entries(d.drug) as [string, unknown][]),
          ['subject', d.subject],
        ];
        if ((d.drug as { medicationReference?: { reference?: string } }).medicationReference?.reference === '#m1')
          body.push(['contained', [{ resourceType: 'Medication', id: 'm1', code: { text: 'pembrolizumab' } }]]);
        if (d.dateForm === 'effectiveDateTime') body.push(['effectiveDateTime', `${isoDay(d.day)}T10:00:00Z`]);
        if (d.dateForm === 'effectivePeriod') body.push(['effectivePeriod', { start: isoDay(d.day) }]);
        if (d.dateForm === 'weird') body.push(['effectiveDateTime', d.weird]);
        resources.push(pairs([...body, ...d.extra]));
      });
      ls.forEach((l, i) => {
        resources.push(
          pairs([
            ['resourceType', 'Observation'],
            ['id', `${s.patientId}-lab${i}`],
            ['status', l.status],
            ['code', l.code],
            ['subject', { reference: pref }],
            ['effectiveDateTime', isoDay(l.day)],
            l.value,
            ...l.extra,
          ]),
        );
      });
      os.forEach((o) => {
        const owned = o.adapterWritten
          ? [
              ['identifier', [{ system: 'https://irecist-adapter.dev/fhir/identifier', value: 'x' }]] as [
                string,
                unknown,
              ],
            ]
          : [];
        resources.push(
          pairs([['resourceType', o.type], ['id', o.id], ['subject', { reference: pref }], ...owned, ...o.extra]),
        );
      });
      if (env.patients === 'none') resources.shift();
      if (env.patients === 'two')
        resources.push(
          pairs([
            ['resourceType', 'Patient'],
            ['id', `${s.patientId}-twin`],
          ]),
        );
      for (const [at, older, newer] of env.versions) {
        const i = at % resources.length;
        const original = resources[i] as Pairs;
        resources[i] = withMember(original, 'meta', { versionId: older });
        resources.push(withMember(original, 'meta', { versionId: newer }));
      }
      const order = shuffle(resources, env.shuffleSeed);
      const entries = order.map((resource, i) => {
        const fullUrl =
          env.fullUrls === 'absolute'
            ? [['fullUrl', `http://example.org/fhir/entry/${i}`] as [string, unknown]]
            : env.fullUrls === 'urn'
              ? [['fullUrl', `urn:uuid:00000000-0000-0000-0000-${String(i).padStart(12, '0')}`] as [string, unknown]]
              : [];
        return pairs([...fullUrl, ['resource', resource]]);
      });
      return toJsonText(pairs([['resourceType', 'Bundle'], ['type', env.type], ['entry', entries], ...env.extra]));
    });
}

function shuffle<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let a = seed >>> 0;
  for (let i = out.length - 1; i > 0; i--) {
    a = (Math.imul(a, 1_664_525) + 1_013_904_223) >>> 0;
    const j = a % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

const patientBundleText = shape.chain(patientBundle);

// ---------------------------------------------------------------------------------------------------------------

describe('fuzzing assess', () => {
  it(
    'arbitrary JSON and arbitrary Bundles of arbitrary entries: refused with a 400 OperationOutcome or assessed',
    () => {
      const arbitraryBundle = fc
        .record({
          type: fc.oneof(fc.constantFrom('collection', 'transaction', 'searchset'), shortHostileLeaf),
          entry: fc.array(
            fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.record({ resource: fc.jsonValue({ maxDepth: 3 }) })),
            { maxLength: 5 },
          ),
        })
        .map((b) => JSON.stringify({ resourceType: 'Bundle', ...b }));
      fc.assert(
        fc.property(
          fc.oneof(
            fc.jsonValue().map((v) => JSON.stringify(v)),
            arbitraryBundle,
          ),
          (text) => {
            const verdict = assessText(text);
            if (verdict.kind === 'assessed') checkAssessed(JSON.parse(text), verdict.result, false);
            checkPrototypes();
          },
        ),
        fuzz(500),
      );
    },
    propertyTimeout(30_000),
  );

  it(
    'FHIR-shaped patient Bundles with hostile values, dates and keys: refused or a valid transaction listing every unused input',
    () => {
      let assessed = 0;
      let withReports = 0;
      fc.assert(
        fc.property(patientBundleText, fc.nat({ max: 9 }), (text, pick) => {
          const verdict = assessText(text);
          if (verdict.kind === 'assessed') {
            assessed++;
            if (verdict.result.transaction.entry?.length) withReports++;
            // Validation costs about 50 ms a Bundle: every fifth output is validated.
            checkAssessed(JSON.parse(text), verdict.result, pick < 2);
          }
          checkPrototypes();
        }),
        fuzz(400),
      );
      console.log(`fuzz-assess: ${assessed} Bundles assessed, ${withReports} with reports`);
      // A generator that never reaches the engine would prove nothing.
      expect(withReports).toBeGreaterThan(0);
    },
    propertyTimeout(60_000),
  );

  it('deep nesting and the biggest numbers inside resources do not crash the mapping', () => {
    for (const depth of [100, 10_000, 100_000]) {
      for (const where of ['extension', 'valueQuantity', 'focus', 'code', 'subject']) {
        const deep = deeplyNested(depth, 'mixed');
        const text = `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient","id":"p1","extension":${where === 'extension' ? deep : '[]'}}},{"resource":{"resourceType":"Observation","id":"o1","status":"final","code":${where === 'code' ? deep : '{"coding":[{"system":"http://loinc.org","code":"21889-1"}]}'},"subject":${where === 'subject' ? deep : '{"reference":"Patient/p1"}'},"focus":${where === 'focus' ? deep : '[{"reference":"BodyStructure/b1"}]'},"effectiveDateTime":"2026-01-05","component":[{"code":{"coding":[{"system":"http://loinc.org","code":"33728-7"}]},"valueQuantity":${where === 'valueQuantity' ? deep : '{"value":1e999,"unit":"mm"}'}}]}}]}`;
        const verdict = assessText(text);
        if (verdict.kind === 'assessed') checkAssessed(JSON.parse(text), verdict.result, false);
        checkPrototypes();
      }
    }
    expect(toJsonText(raw('1e999'))).toBe('1e999');
  });
});

describe('what fuzzing found stays fixed', () => {
  it('impossible dates, control characters, non-function toString and broken version ids: assessed, valid, listed', () => {
    const bundle = JSON.parse(readFileSync(join(ROOT, 'samples/cases/pseudoprogression.bundle.json'), 'utf8')) as {
      entry: { resource: Record<string, unknown> }[];
    };
    const byId = (id: string) => bundle.entry.find((e) => e.resource.id === id)?.resource as Record<string, unknown>;
    // 2026-02-30 passed as a date, rolled into March in date arithmetic and was written back: an invalid report.
    const l2t2 = byId('pseudoprogression-L2-t2');
    l2t2.effectiveDateTime = '2026-02-30T09:30:00Z';
    delete l2t2.derivedFrom;
    // A status and a code with NUL and a bidi override were quoted into the conclusion: an invalid FHIR string.
    bundle.entry.push({
      resource: {
        resourceType: 'Observation',
        id: 'x-nul',
        status: 'final\u0000',
        code: { coding: [{ system: '\u202eevil', code: 'x\u0000' }] },
        subject: { reference: 'Patient/pseudoprogression' },
      },
    });
    (byId('pseudoprogression-ctdna1').valueQuantity as Record<string, unknown>).unit = '%\u0000\u202e';
    // An own toString that is not a function made String(status) throw a TypeError out of assess.
    bundle.entry.push({
      resource: {
        resourceType: 'ImagingStudy',
        id: 'x-study',
        status: { toString: 0 },
        started: '2026-03-09',
        subject: { reference: 'Patient/pseudoprogression' },
      },
    });
    // A version id that is not an id went into references as it was (and an object one made Number() throw).
    const l1t3 = byId('pseudoprogression-L1-t3');
    l1t3.meta = { versionId: '\u0000' };
    bundle.entry.push({ resource: { ...structuredClone(l1t3), meta: { versionId: { toString: 1 } } } });

    const verdict = assessText(JSON.stringify(bundle));
    expect(verdict.kind).toBe('assessed');
    if (verdict.kind !== 'assessed') return;
    checkAssessed(bundle, verdict.result, true);
    const text = JSON.stringify(verdict.result.transaction);
    expect(text).not.toContain('2026-02-30');
    expect(text).not.toMatch(/\\u0000|\\u202e|\u202e/);
    expect(text).toContain('[ImagingStudy/x-study]');
    expect(text).toContain('[Observation/x-nul]');
    checkPrototypes();
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Through the command line: the same files end as exit 0 with a Bundle or exit 2 with an OperationOutcome

describe('fuzzing assess through the command line', () => {
  it('hostile files: exit 0 or 2, JSON on stdout, no stack trace, in time', async () => {
    const generated = fc.sample(patientBundleText, { seed: FUZZ_SEED, numRuns: 2 });
    const files: [string, string | Buffer][] = [
      ['deep.json', deeplyNested(100_000, 'mixed')],
      [
        'proto.json',
        '{"resourceType":"Bundle","type":"collection","__proto__":{"polluted":true},"entry":[{"resource":{"resourceType":"Patient","id":"p1","constructor":{"prototype":{"polluted":true}}}}]}',
      ],
      [
        'numbers.json',
        `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient","id":"p1"}},{"resource":{"resourceType":"Observation","id":"o1","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"21889-1"}]},"subject":{"reference":"Patient/p1"},"effectiveDateTime":"2026-01-05","focus":[{"reference":"BodyStructure/b1"}],"component":[{"code":{"coding":[{"system":"http://loinc.org","code":"33728-7"}]},"valueQuantity":{"value":1e999,"unit":"mm"}}]}}]}`,
      ],
      ['invalid-utf8.json', Buffer.from([0x7b, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x3a, 0x31, 0x7d])],
      [
        'lone-surrogate.json',
        '{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient","id":"p1","name":[{"text":"\\ud800\\u202e\\u0000"}]}}]}',
      ],
      ...generated.map((text, i) => [`generated-${i}.json`, text] as [string, string]),
    ];
    for (const [name, content] of files) {
      const file = join(tmp, name);
      writeFileSync(file, content);
      const run = await runCli(['assess', file], { timeoutMs: 60_000 });
      expect(run.status, `${name}: ${run.stderr.slice(0, 300)}`).not.toBeNull();
      expect([0, 2], `${name}: ${run.stderr.slice(0, 300)}`).toContain(run.status);
      expect(run.stderr, name).not.toMatch(/\n\s+at |node:internal|\.ts:\d+:\d+/);
      const out = JSON.parse(run.stdout) as { resourceType?: string; type?: string };
      if (run.status === 0) expect(out).toMatchObject({ resourceType: 'Bundle', type: 'transaction' });
      else expect(out.resourceType).toBe('OperationOutcome');
    }
  }, 120_000);
});
