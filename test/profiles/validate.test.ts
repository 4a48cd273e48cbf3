import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { PROFILE, VALUE_SET } from '../../src/codes.ts';
import { OutcomeError } from '../../src/fhir-model/outcomes.ts';
import {
  assertValid,
  getExpansion,
  getProfileSnapshot,
  indexDefinitions,
  validateWritten,
} from '../support/fhir-validation/validate.ts';
import { flagExample, lesionRoleExample, reportExample, timepointExample } from './examples.ts';

/** Tests break the examples freely, at any depth. */
// biome-ignore lint/suspicious/noExplicitAny: test fixtures are mutated without ceremony
type Loose = Record<string, any>;

/** The errors as [code, expression, text], which is what the tables below assert. */
const errorsOf = (resource: Loose): [string, string | undefined, string | undefined][] =>
  validateWritten(resource as Resource)
    .filter((i: OperationOutcomeIssue) => i.severity === 'error')
    .map((i) => [i.code, i.expression?.[0], i.details?.text]);

const constraint = (key: string, human: string) => `Constraint ${key} not met: ${human}`;
const NOT_IN_VALUE_SET = 'Code not in the required value set';

describe('conforming examples', () => {
  it.each([
    ['response-assessment-report', reportExample],
    ['timepoint-response', timepointExample],
    ['progression-flag', flagExample],
    ['lesion-role (on a tumour size Observation)', lesionRoleExample],
  ])('%s validates without errors or warnings', (_name, example) => {
    expect(validateWritten(example())).toEqual([]);
    expect(() => assertValid(example())).not.toThrow();
  });
});

describe('response-assessment-report', () => {
  it.each<[string, (r: Loose) => void, [string, string, string]]>([
    [
      'no identifier',
      (r) => delete r.identifier,
      ['structure', 'DiagnosticReport.identifier', 'Missing required property'],
    ],
    [
      'status not final',
      (r) => {
        r.status = 'preliminary';
      },
      ['structure', 'DiagnosticReport.status', 'Value did not match expected pattern'],
    ],
    [
      'no Radiology category',
      (r) => {
        r.category = [{ text: 'Imaging' }];
      },
      [
        'structure',
        'DiagnosticReport.category',
        "Incorrect number of values provided for slice 'radiology': expected 1..1, but found 0",
      ],
    ],
    ['no subject', (r) => delete r.subject, ['structure', 'DiagnosticReport.subject', 'Missing required property']],
    [
      'effective is a Period',
      (r) => {
        delete r.effectiveDateTime;
        r.effectivePeriod = { start: '2024-03-01' };
      },
      ['invariant', 'DiagnosticReport', constraint('irecist-rar-1', 'effective[x] is a dateTime (the scan date)')],
    ],
    ['no result', (r) => delete r.result, ['structure', 'DiagnosticReport.result', 'Missing required property']],
    [
      'no conclusion',
      (r) => delete r.conclusion,
      ['structure', 'DiagnosticReport.conclusion', 'Missing required property'],
    ],
    [
      'a single conclusionCode',
      (r) => r.conclusionCode.pop(),
      ['structure', 'DiagnosticReport.conclusionCode', 'Invalid number of values: expected 2..*, but found 1'],
    ],
    [
      'conclusionCodes in the wrong order',
      (r) => r.conclusionCode.reverse(),
      [
        'invariant',
        'DiagnosticReport',
        constraint('irecist-rar-2', 'The first conclusionCode is an iRECIST timepoint response'),
      ],
    ],
    [
      'patient status from another system',
      (r) => {
        r.conclusionCode[1].coding[0].system = 'http://example.org/status';
      },
      [
        'invariant',
        'DiagnosticReport',
        constraint('irecist-rar-3', 'The second conclusionCode is an iRECIST patient status'),
      ],
    ],
  ])('%s', (_name, breakIt, expected) => {
    const report = reportExample() as Loose;
    breakIt(report);
    expect(errorsOf(report)).toContainEqual(expected);
  });

  it('warns (medplum does not fail) on a subject that is not a Patient', () => {
    const report = { ...reportExample(), subject: { reference: 'Group/g1' } };
    expect(validateWritten(report)).toEqual([
      expect.objectContaining({ severity: 'warning', expression: ['DiagnosticReport.subject'] }),
    ]);
  });
});

describe('timepoint-response', () => {
  it.each<[string, (r: Loose) => void, [string, string, string]]>([
    ['no identifier', (r) => delete r.identifier, ['structure', 'Observation.identifier', 'Missing required property']],
    [
      'status not final',
      (r) => {
        r.status = 'amended';
      },
      ['structure', 'Observation.status', 'Value did not match expected pattern'],
    ],
    [
      'wrong code',
      (r) => {
        r.code = { coding: [{ system: 'http://loinc.org', code: '21889-1' }] };
      },
      ['structure', 'Observation.code', 'Value did not match expected pattern'],
    ],
    ['no subject', (r) => delete r.subject, ['structure', 'Observation.subject', 'Missing required property']],
    [
      'no effectiveDateTime',
      (r) => delete r.effectiveDateTime,
      ['structure', 'Observation.effective[x]', 'Missing required property'],
    ],
    [
      'a response code that is not a timepoint response',
      (r) => {
        r.valueCodeableConcept.coding[0].code = 'stable';
      },
      ['code-invalid', 'Observation.value[x]', NOT_IN_VALUE_SET],
    ],
    [
      'a string value',
      (r) => {
        delete r.valueCodeableConcept;
        r.valueString = 'iUPD';
      },
      [
        'invariant',
        'Observation',
        constraint('irecist-tr-2', 'The value is a CodeableConcept (the timepoint response)'),
      ],
    ],
    [
      'a component without an iRECIST code',
      (r) => {
        r.component[0].code = { coding: [{ system: 'http://loinc.org', code: '21889-1' }] };
      },
      [
        'invariant',
        'Observation.component[0]',
        constraint('irecist-tr-3', 'Each component is coded with an iRECIST code'),
      ],
    ],
  ])('%s', (_name, breakIt, expected) => {
    const observation = timepointExample() as Loose;
    breakIt(observation);
    expect(errorsOf(observation)).toContainEqual(expected);
  });
});

describe('progression-flag', () => {
  it.each<[string, (r: Loose) => void, [string, string, string]]>([
    ['no identifier', (r) => delete r.identifier, ['structure', 'Flag.identifier', 'Missing required property']],
    [
      'a status that does not exist',
      (r) => {
        r.status = 'open';
      },
      ['code-invalid', 'Flag.status', NOT_IN_VALUE_SET],
    ],
    [
      'a status that is not flagged',
      (r) => {
        r.code.coding[0].code = 'stable';
      },
      ['code-invalid', 'Flag.code', NOT_IN_VALUE_SET],
    ],
    [
      'category not clinical',
      (r) => {
        r.category[0].coding[0].code = 'drug';
      },
      [
        'structure',
        'Flag.category',
        "Incorrect number of values provided for slice 'clinical': expected 1..1, but found 0",
      ],
    ],
    [
      'no flag-priority',
      (r) => r.extension.pop(),
      [
        'structure',
        'Flag.extension',
        "Incorrect number of values provided for slice 'priority': expected 1..1, but found 0",
      ],
    ],
    [
      'no flag-detail',
      (r) => r.extension.shift(),
      [
        'structure',
        'Flag.extension',
        "Incorrect number of values provided for slice 'detail': expected 1..1, but found 0",
      ],
    ],
    [
      'no period.start',
      (r) => {
        r.period = { end: '2024-04-01' };
      },
      ['structure', 'Flag.period.start', 'Missing required property'],
    ],
    ['no period', (r) => delete r.period, ['structure', 'Flag.period', 'Missing required property']],
  ])('%s', (_name, breakIt, expected) => {
    const flag = flagExample() as Loose;
    breakIt(flag);
    expect(errorsOf(flag)).toContainEqual(expected);
  });
});

describe('lesion-role extension', () => {
  it.each<[string, (r: Loose) => void, [string, string, string]]>([
    [
      'a role that does not exist',
      (r) => {
        r.extension[0].valueCode = 'primary';
      },
      ['code-invalid', 'Observation.extension[0].value[x]', NOT_IN_VALUE_SET],
    ],
    [
      'a valueString instead of a valueCode',
      (r) => {
        r.extension[0] = { url: PROFILE.lesionRole, valueString: 'target' };
      },
      ['invariant', 'Observation.extension[0]', constraint('irecist-lr-1', 'The lesion role is a valueCode')],
    ],
    [
      'no value',
      (r) => {
        r.extension[0] = { url: PROFILE.lesionRole };
      },
      ['structure', 'Observation.extension[0].value[x]', 'Missing required property'],
    ],
  ])('%s', (_name, breakIt, expected) => {
    const observation = lesionRoleExample() as Loose;
    breakIt(observation);
    expect(errorsOf(observation)).toContainEqual(expected);
  });

  it('is checked wherever it appears, e.g. on a component', () => {
    const observation = lesionRoleExample() as Loose;
    observation.component[0].extension = [{ url: PROFILE.lesionRole, valueCode: 'primary' }];
    expect(errorsOf(observation)).toEqual([
      ['code-invalid', 'Observation.component[0].extension[0].value[x]', NOT_IN_VALUE_SET],
    ]);
  });
});

describe('validateWritten', () => {
  it('applies only our profiles: a profile from elsewhere in meta.profile is ignored', () => {
    const observation = { ...timepointExample(), meta: { profile: ['http://example.org/StructureDefinition/other'] } };
    delete (observation as Loose).identifier;
    expect(errorsOf(observation)).toEqual([]);
  });

  it('refuses one of our profiles on the wrong resource type', () => {
    const observation = { ...timepointExample(), meta: { profile: [PROFILE.flag] } };
    expect(errorsOf(observation)).toEqual([
      ['structure', 'Observation.meta.profile', 'Profile is for another resource type'],
    ]);
  });

  it('validates the entries of a transaction Bundle against base R4 and our profiles', () => {
    const flag = { ...flagExample(), status: 'open' } as Loose;
    delete flag.identifier;
    const bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: reportExample(), request: { method: 'POST', url: 'DiagnosticReport' } },
        { resource: flag, request: { method: 'POST', url: 'Flag' } },
      ],
    };
    expect(errorsOf(bundle)).toEqual([
      ['structure', 'Bundle.entry[1].resource.identifier', 'Missing required property'],
      ['code-invalid', 'Bundle.entry[1].resource.status', NOT_IN_VALUE_SET],
    ]);
  });

  it('reports base R4 problems without a profile', () => {
    expect(errorsOf({ resourceType: 'Flag', status: 'active', code: { text: 'x' } })).toEqual([
      ['structure', 'Flag.subject', 'Missing required property'],
    ]);
    expect(errorsOf({ resourceType: 'NotAResource' })).toEqual([['structure', undefined, 'Invalid resource type']]);
  });

  it('is cheap after the first call (definitions are indexed once)', () => {
    indexDefinitions();
    const start = performance.now();
    for (let i = 0; i < 50; i++) validateWritten(reportExample());
    expect(performance.now() - start).toBeLessThan(2000);
  });
});

describe('assertValid', () => {
  it('throws an OutcomeError (500) listing every error and no warning', () => {
    const report = { ...reportExample(), subject: { reference: 'Group/g1' } } as Loose;
    delete report.conclusion;
    let thrown: unknown;
    try {
      assertValid(report as Resource);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(OutcomeError);
    const error = thrown as OutcomeError;
    expect(error.status).toBe(500);
    expect(error.outcome.issue).toEqual([
      expect.objectContaining({
        severity: 'error',
        expression: ['DiagnosticReport.conclusion'],
        details: { text: 'Missing required property' },
      }),
    ]);
  });

  it('takes another status when the caller validates input rather than output', () => {
    expect(() => assertValid({ resourceType: 'Flag' } as Resource, 400)).toThrow(
      expect.objectContaining({ status: 400 }),
    );
  });
});

describe('snapshots and expansions', () => {
  it.each(Object.values(PROFILE))('%s has a generated snapshot that is a valid StructureDefinition', (url) => {
    const snapshot = getProfileSnapshot(url);
    expect(snapshot?.snapshot?.element.length).toBeGreaterThanOrEqual(5);
    expect(errorsOf(snapshot as Resource)).toEqual([]);
  });

  it('fixes the url of extension slices so that they can be told apart', () => {
    const elements = getProfileSnapshot(PROFILE.flag)?.snapshot?.element ?? [];
    expect(elements.find((e) => e.id === 'Flag.extension:detail.url')?.fixedUri).toBe(
      'http://hl7.org/fhir/StructureDefinition/flag-detail',
    );
    expect(elements.find((e) => e.id === 'Flag.period.start')?.min).toBe(1);
  });

  it.each([
    [
      VALUE_SET.flaggedStatus,
      ['possible-pseudoprogression', 'pseudoprogression', 'confirmed-progression', 'hyperprogression'],
    ],
    [VALUE_SET.lesionRole, ['target', 'non-target', 'new']],
    ['http://hl7.org/fhir/ValueSet/flag-status|4.0.1', ['active', 'inactive', 'entered-in-error']],
  ])('expands %s locally', (url, codes) => {
    expect([...(getExpansion(url)?.keys() ?? [])].sort()).toEqual([...codes].sort());
  });

  it('does not pretend to expand a ValueSet that needs a terminology server (ATC is-a filters)', () => {
    expect(getExpansion(VALUE_SET.immunotherapy)).toBeUndefined();
    expect(getExpansion('http://example.org/ValueSet/unknown')).toBeUndefined();
  });
});
