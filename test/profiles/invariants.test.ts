/**
 * The written-resource validation enforces the FHIR R4 base invariants medplum's validator leaves out (issue #11
 * item 4; test/support/fhir-validation/invariants.ts): a Flag whose period ends before it starts (per-1) fails, alone
 * or inside the transaction, and so do the other data-type invariants that apply to what the adapter writes.
 */
import type { Bundle, OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { OutcomeError } from '../../src/fhir-model/outcomes.ts';
import { checkInvariants, NOT_EVALUATED } from '../support/fhir-validation/invariants.ts';
import { assertValid, validateWritten } from '../support/fhir-validation/validate.ts';
import { diseaseStatusExample, flagExample, reportDocumentExample, timepointExample } from './examples.ts';

// biome-ignore lint/suspicious/noExplicitAny: test fixtures are mutated without ceremony
type Loose = Record<string, any>;

const keysOf = (issues: OperationOutcomeIssue[]): string[] =>
  issues
    .filter((i) => i.severity === 'error')
    .map((i) => /Constraint (\S+) not met/.exec(i.details?.text ?? '')?.[1] ?? i.details?.text ?? '');

describe('per-1 (Period: start <= end)', () => {
  const superseded = (start: string, end: string) => ({
    ...flagExample(),
    status: 'inactive' as const,
    period: { start, end },
  });

  it('a Flag whose period ends before it starts is refused', () => {
    const flag = superseded('2024-03-01', '2024-01-15');
    expect(keysOf(validateWritten(flag))).toEqual(['per-1']);
    expect(validateWritten(flag)[0]?.expression).toEqual(['Flag.period']);
    expect(() => assertValid(flag)).toThrow(OutcomeError);
  });

  it('one that ends on or after its start passes (dates and dateTimes)', () => {
    expect(validateWritten(superseded('2024-03-01', '2024-03-01'))).toEqual([]);
    expect(validateWritten(superseded('2024-03-01', '2024-06-15'))).toEqual([]);
    expect(keysOf(validateWritten(superseded('2024-03-01T10:00:00Z', '2024-03-01T09:00:00Z')))).toEqual(['per-1']);
  });

  it('is caught inside a transaction Bundle too', () => {
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          fullUrl: 'urn:uuid:0b8d7cb6-4a55-5a3a-9c57-7b3d1e1f6a10',
          resource: timepointExample(),
          request: { method: 'POST', url: 'Observation' },
        },
        { resource: superseded('2024-03-01', '2024-01-15'), request: { method: 'PUT', url: 'Flag/f1' } },
      ],
    };
    expect(keysOf(validateWritten(bundle))).toContain('per-1');
  });
});

describe('the other base invariants medplum does not check', () => {
  it.each<[string, () => Loose, (r: Loose) => void]>([
    ['qty-3', timepointExample, (r) => delete r.component[0].valueQuantity.system],
    ['ref-1', diseaseStatusExample, (r) => (r.focus = [{ reference: '#lesion-1' }])],
    ['ext-1', diseaseStatusExample, (r) => (r.extension[0].extension = [{ url: 'x', valueString: 'y' }])],
    ['att-1', reportDocumentExample, (r) => delete r.content[0].attachment.contentType],
    ['ele-1', diseaseStatusExample, (r) => (r.note = [{ id: 'n1' }])],
    ['dom-3', diseaseStatusExample, (r) => (r.contained = [{ resourceType: 'Device', id: 'unused' }])],
    [
      'rng-2',
      timepointExample,
      (r) => {
        r.component[0] = { code: r.component[0].code, valueRange: { low: { value: 5 }, high: { value: 2 } } };
      },
    ],
  ])('%s is enforced', (key, example, breakIt) => {
    const r = example();
    expect(checkInvariants(r as Resource)).toEqual([]);
    breakIt(r);
    expect(keysOf(checkInvariants(r as Resource))).toContain(key);
    expect(keysOf(validateWritten(r as Resource))).toContain(key);
  });

  it('a contained resource that is referred to satisfies dom-3 and ref-1', () => {
    const r = diseaseStatusExample() as Loose;
    r.contained = [{ resourceType: 'BodyStructure', id: 'l1', patient: { reference: 'Patient/p1' } }];
    r.focus = [{ reference: '#l1' }];
    expect(checkInvariants(r as Resource)).toEqual([]);
  });

  it('leaves out only constraints whose expressions cannot be evaluated here, and says why', () => {
    expect(Object.keys(NOT_EVALUATED).sort()).toEqual(['txt-1', 'txt-2']);
  });
});
