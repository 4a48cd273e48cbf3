/**
 * rules.md: measurements count when they come from imaging or clinical examination (no method, CT, MRI, PET/CT,
 * ultrasound, physical examination, calipers); a size measured on a specimen (Observation.specimen, or a pathology
 * method) is listed as not used.
 */
import type { CodeableConcept, Observation } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { SYSTEM } from '../../src/codes.ts';
import { readMeasurementMethod } from '../../src/mapping/read-measurement-method.ts';
import { bodyStructure, imagingStudy, mapResources, mm, patient, tumorSize } from './builders.ts';

const sct = (code: string, display?: string): CodeableConcept => ({
  coding: [{ system: SYSTEM.snomed, code, ...(display ? { display } : {}) }],
});
const obs = (extra: Partial<Observation>): Observation => ({
  ...tumorSize('o1', { lesion: 'L1', date: '2026-01-05', ld: mm(20) }),
  ...extra,
});

describe('readMeasurementMethod', () => {
  it.each<[string, Partial<Observation>, string | undefined]>([
    ['no method: counts', {}, undefined],
    ['CT (SNOMED 77477000)', { method: sct('77477000') }, undefined],
    ['MRI (SNOMED 113091000)', { method: sct('113091000') }, undefined],
    ['PET (SNOMED 82918005)', { method: sct('82918005') }, undefined],
    ['PET/CT (SNOMED 450436003)', { method: sct('450436003') }, undefined],
    ['ultrasound (SNOMED 16310003)', { method: sct('16310003') }, undefined],
    ['imaging (SNOMED 363679005)', { method: sct('363679005') }, undefined],
    ['physical examination (SNOMED 5880005)', { method: sct('5880005') }, undefined],
    ['caliper (SNOMED 44056008)', { method: sct('44056008') }, undefined],
    ['DICOM modality CT', { method: { coding: [{ system: SYSTEM.dicom, code: 'CT' }] } }, undefined],
    ['text only: "CT chest"', { method: { text: 'CT chest' } }, undefined],
    ['text only: "Calliper measurement"', { method: { text: 'Calliper measurement' } }, undefined],
    [
      'display only: "Clinical examination"',
      { method: { coding: [{ system: 'http://local', code: 'x', display: 'Clinical examination' }] } },
      undefined,
    ],
    ['gross pathology (SNOMED 787377000)', { method: sct('787377000') }, 'measurement-method-pathology'],
    ['light microscopy (SNOMED 104157003)', { method: sct('104157003') }, 'measurement-method-pathology'],
    [
      'text only: "Gross specimen, pathology"',
      { method: { text: 'Gross specimen, pathology' } },
      'measurement-method-pathology',
    ],
    [
      'a specimen reference, whatever the method',
      { specimen: { reference: 'Specimen/s1' }, method: sct('77477000') },
      'measurement-on-specimen',
    ],
    [
      'an unknown method',
      { method: { coding: [{ system: 'http://local', code: 'q7' }] } },
      'measurement-method-unknown',
    ],
  ])('%s', (_name, extra, code) => {
    expect(readMeasurementMethod(obs(extra))?.code).toBe(code);
  });

  it('a pathology size is listed as not used, with the method named, and does not reach the scan', () => {
    const o = obs({ method: sct('787377000', 'Gross examination and sampling of tissue specimen') });
    const m = mapResources([patient(), bodyStructure('L1'), imagingStudy('s0', '2026-01-05'), o]);
    expect(m.record.scans.flatMap((s) => s.measurements)).toEqual([]);
    expect(m.usedSources).toEqual([]);
    expect(m.record.issues).toEqual([
      {
        code: 'measurement-method-pathology',
        text: 'A lesion measurement was made by pathology (gross examination of a tissue specimen), not by imaging or clinical examination, and was not used.',
        source: 'Observation/o1',
      },
    ]);
  });
});
