import { describe, expect, it } from 'vitest';
import { IDENTIFIER_SYSTEM, PROFILE } from '../../src/codes.ts';
import { isAdapterWritten, patientIdFromReference, patientIdOf } from '../../src/fhir-model/resource-owner.ts';

describe('patientIdFromReference', () => {
  it.each([
    ['Patient/p1', 'p1'],
    ['Patient/p1/_history/3', 'p1'],
    ['https://fhir.example.org/fhir/R4/Patient/abc-9', 'abc-9'],
    ['Group/g1', undefined],
    ['#contained', undefined],
    ['Patient/..', undefined],
    ['Patient/.', undefined],
    ['https://fhir.example.org/fhir/R4/Patient/..', undefined],
    ['Patient/a b', undefined],
    ['urn:uuid:6c1e0f4e-9d55-4f8a-8f0e-3c1f7d1b2a10', undefined],
  ])('%s -> %s', (reference, id) => {
    expect(patientIdFromReference({ reference })).toBe(id);
  });
});

describe('isAdapterWritten', () => {
  it.each([
    [{ identifier: [{ system: IDENTIFIER_SYSTEM, value: 'tp-1' }] }, true],
    [{ meta: { profile: [PROFILE.timepointResponse] } }, true],
    [{ meta: { tag: [{ system: IDENTIFIER_SYSTEM, code: 'x' }] } }, true],
    [{ identifier: [{ system: 'http://hospital.example.org/lesion', value: 'L1' }] }, false],
    [{ meta: { profile: ['https://irecist-adapter.dev/fhirx/other'] } }, false],
    [{}, false],
  ])('%j -> %s', (resource, expected) => {
    expect(isAdapterWritten(resource)).toBe(expected);
  });
});

describe('patientIdOf', () => {
  it.each([
    [{ resourceType: 'Patient', id: 'p1' }, 'p1'],
    [{ resourceType: 'Observation', id: 'o1', subject: { reference: 'Patient/p2' } }, 'p2'],
    [{ resourceType: 'BodyStructure', id: 'b1', patient: { reference: 'Patient/p3/_history/1' } }, 'p3'],
    [{ resourceType: 'Observation', id: 'o2', subject: { reference: 'Patient/..' } }, undefined],
    [{ resourceType: 'Observation', id: 'o3', subject: 'Patient/p4' }, undefined],
  ] as const)('%j -> %s', (resource, id) => {
    expect(patientIdOf(resource as never)).toBe(id);
  });
});
