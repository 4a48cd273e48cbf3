import type { CodeSystem, StructureDefinition, ValueSet } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { OutcomeError } from '../../src/fhir-model/outcomes.ts';
import { expandValueSet, expansionHas, type TerminologyLookup } from '../support/fhir-validation/expand.ts';
import { generateSnapshot } from '../support/fhir-validation/snapshot.ts';

const CORE = 'http://hl7.org/fhir/StructureDefinition/';
const definition = (type: string, elements: [string, string?][]): StructureDefinition => ({
  resourceType: 'StructureDefinition',
  url: `${CORE}${type}`,
  name: type,
  status: 'active',
  kind: 'resource',
  abstract: false,
  type,
  snapshot: {
    element: elements.map(([id, typeCode]) => ({
      id,
      path: id,
      min: 0,
      max: id.endsWith('s') ? '*' : '1',
      ...(typeCode ? { type: [{ code: typeCode }] } : {}),
    })),
  },
});
const BASES = [
  definition('Thing', [
    ['Thing'],
    ['Thing.codes', 'CodeableConcept'],
    ['Thing.period', 'Period'],
    ['Thing.note', 'string'],
  ]),
  definition('Period', [['Period'], ['Period.start', 'dateTime'], ['Period.end', 'dateTime']]),
];
const lookup = (url: string) => BASES.find((b) => b.url === url);
const profile = (elements: StructureDefinition['differential']): StructureDefinition => ({
  resourceType: 'StructureDefinition',
  url: 'https://example.org/StructureDefinition/my-thing',
  name: 'MyThing',
  status: 'active',
  kind: 'resource',
  abstract: false,
  type: 'Thing',
  baseDefinition: `${CORE}Thing`,
  derivation: 'constraint',
  differential: elements,
});

describe('generateSnapshot', () => {
  it('merges the differential, adds slices after the sliced element and expands data types in place', () => {
    const snapshot = generateSnapshot(
      profile({
        element: [
          {
            id: 'Thing',
            path: 'Thing',
            constraint: [{ key: 'k-1', severity: 'error', human: 'h', expression: 'true' }],
          },
          { id: 'Thing.codes', path: 'Thing.codes', min: 1, slicing: { rules: 'open' } },
          { id: 'Thing.codes:a', path: 'Thing.codes', sliceName: 'a', min: 1, max: '1' },
          { id: 'Thing.period.start', path: 'Thing.period.start', min: 1 },
        ],
      }),
      lookup,
    );
    expect(snapshot.snapshot?.element.map((e) => [e.id, e.min, e.max, e.sliceName])).toEqual([
      ['Thing', 0, '1', undefined],
      ['Thing.codes', 1, '*', undefined],
      ['Thing.codes:a', 1, '1', 'a'],
      ['Thing.period', 0, '1', undefined],
      ['Thing.period.start', 1, '1', undefined],
      ['Thing.period.end', 0, '1', undefined],
      ['Thing.note', 0, '1', undefined],
    ]);
    expect(snapshot.snapshot?.element[0]?.constraint?.map((c) => c.key)).toEqual(['k-1']);
    expect(snapshot.snapshot?.element[2]?.slicing).toBeUndefined();
    expect(snapshot.snapshot?.element[4]?.path).toBe('Thing.period.start');
  });

  it.each<[string, StructureDefinition]>([
    ['an element the base does not have', profile({ element: [{ id: 'Thing.colour', path: 'Thing.colour' }] })],
    ['a child of a primitive', profile({ element: [{ id: 'Thing.note.x', path: 'Thing.note.x' }] })],
    ['an unknown base', { ...profile({ element: [] }), baseDefinition: `${CORE}Nothing` }],
  ])('refuses %s with an OutcomeError', (_name, sd) => {
    expect(() => generateSnapshot(sd, lookup)).toThrow(OutcomeError);
  });
});

describe('expandValueSet', () => {
  const colours: CodeSystem = {
    resourceType: 'CodeSystem',
    url: 'https://example.org/cs/colour',
    status: 'active',
    content: 'complete',
    concept: [{ code: 'red', concept: [{ code: 'dark-red' }] }, { code: 'blue' }],
  };
  const fragment: CodeSystem = { ...colours, url: 'https://example.org/cs/partial', content: 'fragment' };
  const valueSet = (compose: ValueSet['compose']): ValueSet => ({
    resourceType: 'ValueSet',
    status: 'active',
    compose,
  });
  const warm = valueSet({ include: [{ system: colours.url, concept: [{ code: 'red' }, { code: 'dark-red' }] }] });
  const lookupT: TerminologyLookup = {
    codeSystem: (url) => [colours, fragment].find((c) => c.url === url),
    valueSet: (url) => (url === 'https://example.org/vs/warm' ? warm : undefined),
  };
  const codes = (vs: ValueSet) => {
    const expansion = expandValueSet(vs, lookupT);
    return expansion && [...expansion.keys()].sort();
  };

  it.each<[string, ValueSet, string[] | undefined]>([
    [
      'a whole CodeSystem, nested concepts included',
      valueSet({ include: [{ system: colours.url }] }),
      ['blue', 'dark-red', 'red'],
    ],
    [
      'a CodeSystem minus an exclude',
      valueSet({ include: [{ system: colours.url }], exclude: [{ system: colours.url, concept: [{ code: 'red' }] }] }),
      ['blue', 'dark-red'],
    ],
    [
      'a system intersected with an included ValueSet',
      valueSet({ include: [{ system: colours.url, valueSet: ['https://example.org/vs/warm'] }] }),
      ['dark-red', 'red'],
    ],
    [
      'a filter (needs a terminology server)',
      valueSet({ include: [{ system: colours.url, filter: [{ property: 'concept', op: 'is-a', value: 'red' }] }] }),
      undefined,
    ],
    ['a fragment CodeSystem', valueSet({ include: [{ system: fragment.url }] }), undefined],
    ['an unknown CodeSystem', valueSet({ include: [{ system: 'https://example.org/cs/none' }] }), undefined],
    ['an unknown included ValueSet', valueSet({ include: [{ valueSet: ['https://example.org/vs/none'] }] }), undefined],
  ])('expands %s', (_name, vs, expected) => {
    expect(codes(vs)).toEqual(expected);
  });

  it('matches a code with or without its system', () => {
    const expansion = expandValueSet(warm, lookupT);
    expect(expansion && expansionHas(expansion, 'red')).toBe(true);
    expect(expansion && expansionHas(expansion, 'red', colours.url)).toBe(true);
    expect(expansion && expansionHas(expansion, 'red', 'https://example.org/other')).toBe(false);
    expect(expansion && expansionHas(expansion, undefined)).toBe(false);
  });
});
