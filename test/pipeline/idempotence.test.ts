/**
 * The pipeline is a function of the patient's data: the same input gives the same entries (so writing twice
 * changes nothing), the order of the Bundle's entries does not matter, and no input, however malformed, makes it
 * throw anything but an OutcomeError.
 */
import type { Bundle, DiagnosticReport } from '@medplum/fhirtypes';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { INPUT, IRECIST_SYSTEM, NON_TARGET_VALUE, SYSTEM } from '../../src/codes.ts';
import { OutcomeError } from '../../src/fhir-model/outcomes.ts';
import { parseJson } from '../../src/mapping/read-bundle.ts';
import { assessBundle } from '../../src/pipeline/assess-resources.ts';
import { caseNames, codesOf, readCase } from '../cli/case-check.ts';
import { bundle, smallPatient } from '../mapping/builders.ts';

const NOW = '2026-07-01T00:00:00.000Z';
const names = caseNames();
type Entries = { entry: unknown[] } & Record<string, unknown>;
const caseBundle = (name: string) => readCase(name).bundle as Entries;

const reportCodes = (t: Bundle) =>
  (t.entry ?? [])
    .map((e) => e.resource)
    .filter((r): r is DiagnosticReport => r?.resourceType === 'DiagnosticReport')
    .map((r) => [r.effectiveDateTime, ...codesOf(r.conclusionCode)]);

describe('the same input, twice', () => {
  it.each(names)('%s: identical entries', (name) => {
    const a = assessBundle(caseBundle(name), { now: NOW }).transaction;
    const b = assessBundle(structuredClone(caseBundle(name)), { now: NOW }).transaction;
    expect(b).toEqual(a);
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
  });

  it.each(names)('%s: a later run differs only in Provenance.recorded', (name) => {
    const a = assessBundle(caseBundle(name), { now: NOW }).transaction;
    const b = assessBundle(caseBundle(name), { now: '2027-01-01T00:00:00.000Z' }).transaction;
    const withoutRecorded = (t: Bundle) =>
      JSON.parse(JSON.stringify(t), (key, value) => (key === 'recorded' ? undefined : value));
    expect(withoutRecorded(b)).toEqual(withoutRecorded(a));
  });

  it('does not change its input', () => {
    const input = bundle(smallPatient());
    const before = JSON.stringify(input);
    assessBundle(input, { now: NOW });
    expect(JSON.stringify(input)).toBe(before);
  });
});

describe('a new scan does not rewrite earlier results', () => {
  const dateOf = (r: { effectiveDateTime?: string; started?: string }) =>
    String(r.effectiveDateTime ?? r.started ?? '').slice(0, 10);
  const multi = names.filter((n) => readCase(n).expected.timepoints.length > 1);

  it.each(multi)('%s: reports and timepoint Observations before the last scan stay byte-identical', (name) => {
    const full = caseBundle(name) as { entry: { resource: { effectiveDateTime?: string; started?: string } }[] };
    const last = readCase(name).expected.timepoints.at(-1)![0];
    const before = { ...full, entry: full.entry.filter((e) => dateOf(e.resource) < last) };
    // Every report drawn: a chart is drawn as of its report's date, so it too must not change when a scan is added
    // (by default only the latest report is drawn; the writer keeps an earlier report's chart: keep-chart.ts).
    const options = { now: NOW, chartReports: Number.POSITIVE_INFINITY };
    const all = assessBundle(full, options).transaction.entry ?? [];
    const earlier = (assessBundle(before, options).transaction.entry ?? []).filter(
      (e) => e.resource?.resourceType === 'DiagnosticReport' || e.resource?.resourceType === 'Observation',
    );
    expect(earlier.length).toBeGreaterThan(0);
    for (const e of earlier) expect(all.find((x) => x.fullUrl === e.fullUrl)).toEqual(e);
  });
});

describe('entry order does not matter (property)', () => {
  it('shuffling the entries keeps every report and its conclusion codes', () => {
    const baseline = new Map(names.map((n) => [n, assessBundle(caseBundle(n), { now: NOW }).transaction]));
    const shuffled = fc.constantFrom(...names).chain((name) =>
      fc
        .shuffledSubarray(caseBundle(name).entry, {
          minLength: caseBundle(name).entry.length,
          maxLength: caseBundle(name).entry.length,
        })
        .map((entry) => ({ name, entry })),
    );
    fc.assert(
      fc.property(shuffled, ({ name, entry }) => {
        const t = assessBundle({ ...caseBundle(name), entry }, { now: NOW }).transaction;
        expect(reportCodes(t)).toEqual(reportCodes(baseline.get(name)!));
        // Stronger: the whole transaction is the same, so a server sees no change at all.
        expect(t).toEqual(baseline.get(name));
      }),
      { numRuns: 200 },
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Junk: FHIR-shaped bundles with random resource types and fields, __proto__ keys, huge numbers and unicode.

const PROTO = '__PROTO_KEY__';
const weird = fc.oneof(
  fc.constantFrom(1e308, -1e308, 2 ** 53 + 2, -0, 0.1 + 0.2, 1e-320, Number.MAX_VALUE),
  fc.string({ unit: 'grapheme', maxLength: 12 }),
  fc.constantFrom('', ' ', '\u0000', '\u202e', '💥', 'نص', '\ud800', 'constructor', 'toString', PROTO),
);
const junk: fc.Arbitrary<unknown> = fc.oneof({ depthSize: 'small' }, fc.jsonValue({ maxDepth: 3 }), weird);
const dateLike = fc.oneof(
  fc
    .date({ min: new Date('2019-01-01'), max: new Date('2030-12-31'), noInvalidDate: true })
    .map((d) => d.toISOString()),
  fc
    .date({ min: new Date('2025-01-01'), max: new Date('2026-12-31'), noInvalidDate: true })
    .map((d) => d.toISOString().slice(0, 10)),
  fc.constantFrom('2026-02-30', '2026-13-01', '0000-00-00', '9999-12-31', '2026', '2026-03', 'T09:00', '+275760-09-13'),
  junk,
);
const ids = fc.constantFrom('p1', 'p2', 'L1', 'L2', 'N1', 's0', 's1', 'm1', 'o1', 'o2', 'x', 'a.b-c');
const reference = fc.oneof(
  fc
    .tuple(fc.constantFrom('Patient', 'BodyStructure', 'ImagingStudy', 'Medication', 'Observation', 'Foo'), ids)
    .map(([t, i]) => ({ reference: `${t}/${i}` })),
  fc.constantFrom(
    { reference: '#m1' },
    { reference: 'urn:uuid:11111111-1111-4111-8111-111111111111' },
    { reference: 'http://x/fhir/Patient/p1/_history/2' },
    { identifier: { value: 'L1' } },
    { reference: 'Patient/' },
  ),
  junk,
);
const coding = fc.oneof(
  fc.constantFrom(
    INPUT.tumorSize,
    INPUT.nonTargetStatus,
    INPUT.ctdnaTumorFraction,
    INPUT.ecog,
    INPUT.longestDiameter,
    INPUT.shortAxis,
    INPUT.lymphNode,
    INPUT.dog,
    NON_TARGET_VALUE.present,
    NON_TARGET_VALUE.unequivocalProgression,
    NON_TARGET_VALUE.increased,
    { system: SYSTEM.loinc, code: '2039-6' },
    { system: SYSTEM.rxnorm, code: '1547545' },
    { system: SYSTEM.atc, code: 'L01FF02' },
    { system: IRECIST_SYSTEM, code: 'iUPD' },
  ),
  fc.record({ system: junk, code: junk, display: junk }, { requiredKeys: [] }),
);
const concept = fc.oneof(
  fc.record({ coding: fc.array(coding, { maxLength: 3 }), text: weird }, { requiredKeys: [] }),
  junk,
);
const quantity = fc.oneof(
  fc.record(
    {
      value: fc.oneof(fc.double(), fc.integer(), weird, fc.constant(null)),
      unit: fc.constantFrom('mm', 'cm', '%', 'inch', 'Millimetres'),
      system: fc.constantFrom(SYSTEM.ucum, 'http://x'),
      code: fc.constantFrom('mm', 'cm', '%', '[in_i]'),
      comparator: fc.constantFrom('<', '<=', '>', 'about'),
    },
    { requiredKeys: [] },
  ),
  junk,
);
const fields = {
  meta: fc.oneof(
    fc.record(
      { versionId: fc.oneof(fc.constantFrom('1', '2', '10', 'x'), junk), lastUpdated: dateLike },
      { requiredKeys: [] },
    ),
    junk,
  ),
  status: fc.oneof(
    fc.constantFrom(
      'final',
      'amended',
      'preliminary',
      'entered-in-error',
      'completed',
      'not-done',
      'available',
      'active',
      'inactive',
    ),
    junk,
  ),
  subject: reference,
  patient: reference,
  focus: fc.oneof(fc.array(reference, { maxLength: 2 }), junk),
  derivedFrom: fc.oneof(fc.array(reference, { maxLength: 2 }), junk),
  code: concept,
  location: concept,
  medicationCodeableConcept: concept,
  medicationReference: reference,
  valueCodeableConcept: concept,
  valueQuantity: quantity,
  valueInteger: fc.oneof(fc.integer(), junk),
  valueBoolean: fc.oneof(fc.boolean(), junk),
  component: fc.oneof(
    fc.array(fc.record({ code: concept, valueQuantity: quantity }, { requiredKeys: [] }), { maxLength: 3 }),
    junk,
  ),
  effectiveDateTime: dateLike,
  effectivePeriod: fc.oneof(fc.record({ start: dateLike }), junk),
  issued: dateLike,
  started: dateLike,
  identifier: fc.oneof(
    fc.array(fc.record({ system: junk, value: weird }, { requiredKeys: [] }), { maxLength: 2 }),
    junk,
  ),
  extension: fc.oneof(
    fc.array(
      fc.record(
        {
          url: fc.constantFrom(
            'https://irecist-adapter.dev/fhir/StructureDefinition/lesion-role',
            'http://hl7.org/fhir/StructureDefinition/patient-animal',
            'species',
          ),
          valueCode: fc.oneof(fc.constantFrom('target', 'non-target', 'new'), junk),
          extension: junk,
          valueCodeableConcept: concept,
        },
        { requiredKeys: [] },
      ),
      { maxLength: 2 },
    ),
    junk,
  ),
  contained: fc.oneof(
    fc.array(fc.record({ resourceType: fc.constant('Medication'), id: ids, code: concept }), { maxLength: 1 }),
    junk,
  ),
  [PROTO]: junk,
};
const RESOURCE_TYPES = [
  'Patient',
  'Observation',
  'BodyStructure',
  'ImagingStudy',
  'MedicationAdministration',
  'Medication',
  'Flag',
  'DiagnosticReport',
  'Provenance',
  'Basic',
] as const;
/** A resource whose envelope (resourceType, id) is valid and whose content is junk. */
const resource = fc
  .tuple(
    fc.constantFrom(...RESOURCE_TYPES),
    fc.option(ids, { nil: undefined }),
    fc.record(fields, { requiredKeys: [] }),
  )
  .map(([resourceType, id, rest]) => ({ resourceType, ...(id ? { id } : {}), ...rest }));
const badResource = fc
  .tuple(
    fc.oneof(
      fc.constantFrom(
        'Patient',
        'Observation',
        'BodyStructure',
        'ImagingStudy',
        'MedicationAdministration',
        'Medication',
        'Flag',
        'DiagnosticReport',
        'Provenance',
        'Basic',
      ),
      fc.string({ maxLength: 8 }),
    ),
    fc.oneof(ids, junk),
    fc.record(fields, { requiredKeys: [] }),
  )
  .map(([resourceType, id, rest]) => ({ resourceType, id, ...rest }));
const entry = fc.oneof(
  fc.record(
    {
      fullUrl: fc.oneof(
        fc.constantFrom('urn:uuid:11111111-1111-4111-8111-111111111111', 'http://x/Patient/p1', 'urn:uuid:p1'),
        fc.string({ unit: 'grapheme', maxLength: 12 }),
      ),
      resource,
      request: fc.record({ method: fc.constantFrom('PUT', 'POST', 'DELETE', 'GET') }),
    },
    { requiredKeys: ['resource'] },
  ),
);
/** An entry that may break the envelope (bad resourceType or id, junk entry). */
const badEntry = fc.oneof(
  fc.record({ fullUrl: weird, resource: badResource, request: junk }, { requiredKeys: ['resource'] }),
  junk,
);
/** Bundles whose envelope is valid (the junk reaches the mapping and the engine). */
const junkBundle = fc.record(
  {
    resourceType: fc.constant('Bundle'),
    type: fc.constantFrom('collection', 'transaction', 'batch', 'searchset', 'history'),
    entry: fc.array(entry, { maxLength: 25 }),
    [PROTO]: junk,
  },
  { requiredKeys: ['resourceType', 'type', 'entry'] },
);
/** Bundles whose envelope may be broken anywhere. */
const brokenBundle = fc.record(
  {
    resourceType: fc.oneof(fc.constant('Bundle'), weird),
    type: fc.oneof(fc.constantFrom('collection', 'transaction', 'document'), weird),
    entry: fc.oneof(fc.array(fc.oneof(entry, badEntry), { maxLength: 10 }), junk),
    [PROTO]: junk,
  },
  { requiredKeys: [] },
);

/** As the command line sees it: JSON text (with real "__proto__" keys), parsed, then assessed. */
function run(value: unknown): 'ok' | 'outcome' {
  const text = JSON.stringify(value).replaceAll(`"${PROTO}"`, '"__proto__"');
  try {
    const result = assessBundle(parseJson(text), { now: NOW });
    JSON.stringify(result.transaction);
    return 'ok';
  } catch (err) {
    if (err instanceof OutcomeError) {
      expect(err.outcome.issue?.[0]?.details?.text).toEqual(expect.any(String));
      return 'outcome';
    }
    throw err;
  }
}

describe('junk input (property): nothing but OutcomeError is thrown', () => {
  it('FHIR-shaped junk in a valid Bundle envelope', () => {
    const seen = { ok: 0, outcome: 0 };
    fc.assert(
      fc.property(junkBundle, (b) => {
        seen[run(b)]++;
      }),
      { numRuns: 1500 },
    );
    // Both outcomes are exercised: much of the junk gets past the envelope into the mapping and the engine.
    expect(seen.ok).toBeGreaterThan(300);
    expect(seen.outcome).toBeGreaterThan(300);
  });

  it('Bundles whose envelope is broken anywhere', () => {
    fc.assert(
      fc.property(brokenBundle, (b) => {
        run(b);
      }),
      { numRuns: 1000 },
    );
  });

  it('the sample cases with random fields overwritten by junk', () => {
    const mutated = fc
      .tuple(
        fc.constantFrom(...names),
        fc.array(fc.tuple(fc.nat(), fc.constantFrom(...Object.keys(fields)), junk), { minLength: 1, maxLength: 6 }),
      )
      .map(([name, changes]) => {
        const b = structuredClone(caseBundle(name)) as { entry: { resource: Record<string, unknown> }[] };
        for (const [i, key, value] of changes) b.entry[i % b.entry.length]!.resource[key] = value;
        return b;
      });
    fc.assert(
      fc.property(mutated, (b) => {
        run(b);
      }),
      { numRuns: 500 },
    );
  });

  it('arbitrary text', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'grapheme' }), fc.json()), (text) => {
        try {
          assessBundle(parseJson(text), { now: NOW });
        } catch (err) {
          expect(err).toBeInstanceOf(OutcomeError);
        }
      }),
      { numRuns: 300 },
    );
  });
});
