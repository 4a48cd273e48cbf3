/** MedicationAdministration -> immunotherapy doses (contract section 1), with the catalogue from profiles/. */
import type { CodeableConcept, Medication, MedicationAdministration } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { SYSTEM } from '../../src/codes.ts';
import type { DataQualityIssue } from '../../src/domain/types.ts';
import { readMedicationAdministration } from '../../src/mapping/read-medication-administration.ts';
import { defaultCatalogue } from '../../src/pipeline/default-catalogue.ts';
import { mapResources, medicationAdministration, PEMBROLIZUMAB, patient } from './builders.ts';

const catalogue = defaultCatalogue();
const rx = (code: string, display?: string): CodeableConcept => ({
  coding: [{ system: SYSTEM.rxnorm, code, ...(display ? { display } : {}) }],
});
const atc = (code: string, display?: string): CodeableConcept => ({
  coding: [{ system: SYSTEM.atc, code, ...(display ? { display } : {}) }],
});

function read(ma: MedicationAdministration, medications = new Map<string, Medication>()) {
  const issues: DataQualityIssue[] = [];
  return {
    reading: readMedicationAdministration(ma, catalogue, medications, issues),
    issues: issues.map((i) => i.code),
  };
}
const drugOf = (concept: CodeableConcept) => {
  const { reading } = read(medicationAdministration('ma1', '2026-01-12T10:00:00Z', concept));
  return 'dose' in reading ? reading.dose.drug : undefined;
};

describe('recognising immunotherapy', () => {
  it.each<[string, CodeableConcept, string | undefined]>([
    ['RxNorm pembrolizumab', rx('1547545'), 'pembrolizumab'],
    ['RxNorm nivolumab (display ignored)', rx('1597876', 'something else'), 'nivolumab'],
    ['RxNorm ipilimumab', rx('1094833'), 'ipilimumab'],
    ['ATC L01FF02 (PD-1, by the L01FF prefix) with display', atc('L01FF02', 'Pembrolizumab'), 'pembrolizumab'],
    ['ATC L01FF99 (an L01FF code not listed) without display', atc('L01FF99'), 'ATC L01FF'],
    ['ATC L01XL (CAR-T) prefix', atc('L01XL03', 'axicabtagene ciloleucel'), 'axicabtagene ciloleucel'],
    ['ATC L01FX04 ipilimumab (listed)', atc('L01FX04'), 'ipilimumab'],
    ['ATC L03AC01 aldesleukin (listed)', atc('L03AC01'), 'aldesleukin'],
    ['ATC L01FX05 (not immunotherapy in the catalogue)', atc('L01FX05'), undefined],
    ['ATC L01XA02 carboplatin', atc('L01XA02', 'carboplatin'), undefined],
    ['name in text', { text: 'Pembrolizumab 200 mg IV' }, 'pembrolizumab'],
    ['brand name in text', { text: 'KEYTRUDA 200mg' }, 'keytruda'],
    [
      'name in a coding display of an unknown system',
      { coding: [{ system: 'http://local/drugs', code: '77', display: 'Nivolumab 240 mg' }] },
      'nivolumab',
    ],
    ['a combination: recognised, by its longest name', { text: 'Opdualag (nivolumab and relatlimab)' }, 'relatlimab'],
    ['veterinary: gilvetmab', { text: 'Gilvetmab' }, 'gilvetmab'],
    [
      'veterinary: Oncept canine melanoma vaccine',
      { text: 'ONCEPT canine melanoma vaccine' },
      'canine melanoma vaccine',
    ],
    ['a name inside a longer word does not count', { text: 'antinivolumabase' }, undefined],
    ['chemotherapy by name', { text: 'Carboplatin AUC5' }, undefined],
    ['nothing', {}, undefined],
  ])('%s', (_name, concept, drug) => {
    expect(drugOf(concept)).toBe(drug);
  });
});

describe('status and date', () => {
  it.each<[MedicationAdministration['status'], boolean]>([
    ['completed', true],
    ['in-progress', true],
    ['not-done', false],
    ['entered-in-error', false],
    ['stopped', false],
    ['on-hold', false],
    ['unknown', false],
  ])('%s: counted %s', (status, counted) => {
    const { reading } = read(medicationAdministration('ma1', '2026-01-12T10:00:00Z', PEMBROLIZUMAB, { status }));
    expect('dose' in reading).toBe(counted);
  });

  it('date from effectiveDateTime', () => {
    expect(read(medicationAdministration('ma1', '2026-01-12T23:00:00Z')).reading).toEqual({
      dose: { date: '2026-01-12', drug: 'pembrolizumab', source: 'MedicationAdministration/ma1' },
    });
  });

  it('date from effectivePeriod.start', () => {
    const { reading } = read(medicationAdministration('ma1', '2026-01-13T10:00:00Z', PEMBROLIZUMAB, { period: true }));
    expect(reading).toMatchObject({ dose: { date: '2026-01-13' } });
  });

  it('no date: reported, not counted', () => {
    const ma = medicationAdministration('ma1', '2026-01-12', PEMBROLIZUMAB);
    delete ma.effectiveDateTime;
    expect(read(ma)).toEqual({ reading: { ignored: 'no-date' }, issues: ['dose-without-date'] });
  });
});

describe('medicationReference', () => {
  const med = (id: string, code: CodeableConcept): Medication => ({ resourceType: 'Medication', id, code });

  it('a contained Medication', () => {
    const ma = medicationAdministration(
      'ma1',
      '2026-01-12',
      { reference: '#m' },
      {
        contained: [med('m', rx('1792776'))],
      },
    );
    expect(read(ma).reading).toMatchObject({ dose: { drug: 'atezolizumab' } });
  });

  it('a Medication in the Bundle (through mapToDomain)', () => {
    const m = mapResources([
      patient(),
      med('m1', atc('L01FF01', 'nivolumab')),
      medicationAdministration('ma1', '2026-01-12', { reference: 'Medication/m1' }),
    ]);
    expect(m.record.doses).toEqual([{ date: '2026-01-12', drug: 'nivolumab', source: 'MedicationAdministration/ma1' }]);
  });

  it('a Medication referenced by absolute URL', () => {
    const m = mapResources([
      patient(),
      med('m1', rx('1919503')),
      medicationAdministration('ma1', '2026-01-12', { reference: 'https://fhir.example.org/r4/Medication/m1' }),
    ]);
    expect(m.record.doses.map((d) => d.drug)).toEqual(['durvalumab']);
  });

  it('an unresolved reference with a display: the display is read', () => {
    const ma = medicationAdministration('ma1', '2026-01-12', { reference: 'Medication/gone', display: 'Tecentriq' });
    expect(read(ma).reading).toMatchObject({ dose: { drug: 'tecentriq' } });
  });

  it('an unresolved reference without a display: reported, not counted', () => {
    const ma = medicationAdministration('ma1', '2026-01-12', { reference: 'Medication/gone' });
    expect(read(ma)).toEqual({ reading: { ignored: 'unresolved-medication' }, issues: ['unresolved-medication'] });
  });
});

describe('in the record', () => {
  it('not-done and non-immunotherapy administrations are left out; the latter are counted in one issue', () => {
    const m = mapResources([
      patient(),
      medicationAdministration('ma1', '2026-01-12'),
      medicationAdministration('ma2', '2026-02-02', PEMBROLIZUMAB, { status: 'not-done' }),
      medicationAdministration('ma3', '2026-02-02', { text: 'carboplatin' }),
      medicationAdministration('ma4', '2026-02-23', { text: 'paclitaxel' }),
    ]);
    expect(m.record.doses.map((d) => d.source)).toEqual(['MedicationAdministration/ma1']);
    expect(m.record.issues).toEqual([
      {
        code: 'not-immunotherapy',
        text: "2 medication administration(s) are not immunotherapy in the adapter's catalogue and were not counted.",
      },
    ]);
  });
});
