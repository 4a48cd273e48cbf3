import { describe, expect, it } from 'vitest';
import { isFhirId } from '../../src/fhir-model/ids.ts';
import { type ParsedReference, parseReference } from '../../src/fhir-model/references.ts';
import { isKnownResourceType, knownResourceTypes } from '../../src/fhir-model/resource-types.ts';

describe('parseReference', () => {
  it.each<[string, ParsedReference]>([
    ['Patient/p1', { kind: 'literal', key: { resourceType: 'Patient', id: 'p1' } }],
    ['Patient/p1/_history/3', { kind: 'literal', key: { resourceType: 'Patient', id: 'p1' } }],
    [
      'https://fhir.example.org/fhir/Observation/o.1-A',
      { kind: 'literal', key: { resourceType: 'Observation', id: 'o.1-A' } },
    ],
    [
      'https://fhir.example.org/fhir/Observation/o1/_history/2',
      { kind: 'literal', key: { resourceType: 'Observation', id: 'o1' } },
    ],
    ['urn:uuid:6c1e0f4e-9d55-4f8a-8f0e-3c1f7d1b2a10', { kind: 'other' }],
    ['#contained-1', { kind: 'other' }],
    ['Patient?identifier=http://x|1', { kind: 'other' }],
    ['Observation', { kind: 'other' }],
    ['https://fhir.example.org/fhir', { kind: 'other' }],
    ['Patient/a b', { kind: 'invalid' }],
    ['Patient/..', { kind: 'invalid' }],
    ['Patient/', { kind: 'invalid' }],
    [`Patient/${'x'.repeat(65)}`, { kind: 'invalid' }],
    ['Spaceship/x1', { kind: 'invalid' }],
    ['Constructor/x1', { kind: 'invalid' }],
  ])('%s', (reference, expected) => {
    expect(parseReference(reference)).toEqual(expected);
  });

  it('knows resource types case-sensitively and nothing from Object.prototype', () => {
    expect(isKnownResourceType('Observation')).toBe(true);
    expect(isKnownResourceType('SubscriptionStatus')).toBe(true);
    expect(isKnownResourceType('observation')).toBe(false);
    expect(isKnownResourceType('constructor')).toBe(false);
    expect(isKnownResourceType('__proto__')).toBe(false);
  });

  it.each([
    ['a', true],
    ['A-1.b', true],
    ['x'.repeat(64), true],
    ['x'.repeat(65), false],
    ['', false],
    ['.', false],
    ['a/b', false],
    ['a_b', false],
    ['é', false],
  ])('isFhirId(%j) = %s', (id, ok) => {
    expect(isFhirId(id)).toBe(ok);
  });
});

describe('knownResourceTypes', () => {
  it('is the 147 R4 resource types of the R4 definitions plus SubscriptionTopic', () => {
    const names = knownResourceTypes();
    expect(names).toHaveLength(148);
    expect(names).toEqual(
      expect.arrayContaining(['Observation', 'SubscriptionStatus', 'SubscriptionTopic', 'Patient']),
    );
    expect(names).not.toEqual(expect.arrayContaining(['Resource']));
    expect(names.every(isKnownResourceType)).toBe(true);
  });
});
