/** BodyStructure -> lesion identity and organ; Patient -> species (contract section 1). */
import type { CodeableConcept } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { SYSTEM } from '../../src/codes.ts';
import { readLesion } from '../../src/mapping/read-lesion.ts';
import { isOtherAnimal, readSpecies } from '../../src/mapping/read-patient.ts';
import { bodyStructure, DOG, mapResources, patient } from './builders.ts';

const sct = (code: string, display?: string): CodeableConcept => ({
  coding: [{ system: SYSTEM.snomed, code, ...(display ? { display } : {}) }],
});

describe('readLesion', () => {
  it.each<[string, CodeableConcept | undefined, string, boolean, string | undefined]>([
    ['lymph node by SNOMED 59441001', sct('59441001'), 'lymph-node', true, undefined],
    ['lymph node by display', sct('68171009', 'Axillary lymph node'), 'lymph-node', true, 'Axillary lymph node'],
    [
      'lymph node by display, other spelling',
      sct('1234', 'Mediastinal Lymph-Node structure'),
      'lymph-node',
      true,
      'Mediastinal Lymph-Node structure',
    ],
    ['lymph node by text', { text: 'left inguinal lymph node' }, 'lymph-node', true, 'left inguinal lymph node'],
    ['lung', sct('39607008', 'Lung structure'), 'snomed:39607008', false, 'Lung structure'],
    ['liver', sct('10200004'), 'snomed:10200004', false, undefined],
    ['"node" alone is not a lymph node', { text: 'Liver node' }, 'text:liver node', false, 'Liver node'],
    [
      'a non-SNOMED code with text',
      { coding: [{ system: 'http://local', code: 'x' }], text: 'Adrenal ' },
      'text:adrenal',
      false,
      'Adrenal',
    ],
    ['no location', undefined, 'unknown:BodyStructure/L1', false, undefined],
  ])('%s -> organ %s, nodal %s, site %s', (_name, location, organ, nodal, site) => {
    const b = bodyStructure('L1', location);
    if (!location) delete b.location;
    expect(readLesion(b)).toEqual({ id: 'BodyStructure/L1', organ, nodal, ...(site ? { site } : {}) });
  });

  it('the site reads the location qualifiers first ("Left Lung structure")', () => {
    const b = {
      ...bodyStructure('L1', sct('39607008', 'Lung structure')),
      locationQualifier: [sct('7771000', 'Left')],
    };
    expect(readLesion(b).site).toBe('Left Lung structure');
  });

  it('all nodes are one organ', () => {
    const a = readLesion(bodyStructure('N1', sct('59441001')));
    const b = readLesion(bodyStructure('N2', sct('245311006', 'Cervical lymph node')));
    expect(a.organ).toBe(b.organ);
  });

  it('the identifier is the lesion key', () => {
    expect(readLesion(bodyStructure('L1', sct('39607008'), { identifier: 'RAD-7' })).id).toBe('RAD-7');
  });
});

describe('species', () => {
  it.each<[string, Parameters<typeof patient>[0], 'human' | 'dog', boolean]>([
    ['no animal extension: human', {}, 'human', false],
    ['dog (SNOMED 448771007)', { species: DOG }, 'dog', false],
    ['cat: human criteria, reported', { species: { code: '448169003', display: 'Felis catus' } }, 'human', true],
  ])('%s', (_name, options, species, other) => {
    const p = patient(options);
    expect(readSpecies(p)).toBe(species);
    expect(isOtherAnimal(p)).toBe(other);
    const m = mapResources([p]);
    expect(m.record.species).toBe(species);
    expect(m.record.issues.map((i) => i.code)).toEqual(other ? ['species-not-supported'] : []);
  });

  it('a malformed extension does not throw', () => {
    const p = patient();
    (p as { extension: unknown }).extension = [
      null,
      7,
      { url: 'http://hl7.org/fhir/StructureDefinition/patient-animal', extension: 'x' },
    ];
    expect(readSpecies(p)).toBe('human');
  });
});
