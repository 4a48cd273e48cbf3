import { globalSchema } from '@medplum/core';
import { describe, expect, it } from 'vitest';
import { ensureR4Definitions, narrowExpression } from '../../src/sandbox/definitions.ts';

describe('R4 definitions for the sandbox', () => {
  it('narrows shared search parameter expressions to the resource type', () => {
    ensureR4Definitions();
    const params = globalSchema.types.Observation?.searchParams ?? {};
    expect(params.code?.expression).toBe('Observation.code');
    expect(params.patient?.expression).toBe('Observation.subject.where(resolve() is Patient)');
    expect(params.identifier?.expression).toBe('Observation.identifier');
    expect(globalSchema.types.DocumentReference?.searchParams?.identifier?.expression).toBe(
      'DocumentReference.masterIdentifier | DocumentReference.identifier',
    );
    expect(globalSchema.types.MedicationAdministration?.searchParams?.code?.expression).toBe(
      '(MedicationAdministration.medication.ofType(CodeableConcept))',
    );
  });

  it.each([
    ['A.x | B.x | (A.y.where(z | w))', 'A', 'A.x | (A.y.where(z | w))'],
    ["A.x.where(s = 'B.x | A.q') | B.y", 'A', "A.x.where(s = 'B.x | A.q')"],
    ['B.x', 'A', undefined],
    ['AB.x | A.x', 'A', 'A.x'],
  ])('narrowExpression(%s, %s) = %s', (expression, type, expected) => {
    expect(narrowExpression(expression, type)).toBe(expected);
  });
});
