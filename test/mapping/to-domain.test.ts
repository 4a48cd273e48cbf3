/**
 * FHIR R4 resources -> the domain PatientRecord (contract section 1): Observation status handling, versions,
 * lesion roles, how measurements are grouped into scans, and references between the entries of a transaction.
 */
import type { BundleEntry, Observation, Resource } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { readBundle } from '../../src/mapping/read-bundle.ts';
import { mapToDomain } from '../../src/mapping/to-domain.ts';
import { defaultCatalogue } from '../../src/pipeline/default-catalogue.ts';
import {
  bodyStructure,
  imagingStudy,
  mapResources,
  mm,
  nonTargetStatus,
  PATIENT_REF,
  patient,
  tumorSize,
} from './builders.ts';

const base = (): Resource[] => [patient(), bodyStructure('L1'), imagingStudy('s0', '2026-01-05T09:00:00Z')];

describe('Observation status', () => {
  it.each<[Observation['status'], boolean, string[]]>([
    ['final', true, []],
    ['amended', true, []],
    ['corrected', true, []],
    ['preliminary', false, ['status-not-counted']],
    ['registered', false, ['status-not-counted']],
    ['cancelled', false, ['status-not-counted']],
    ['entered-in-error', false, []],
    ['unknown', false, ['status-not-counted']],
  ])('%s: counted %s', (status, counted, issues) => {
    const o = tumorSize('o1', { lesion: 'L1', date: '2026-01-05', study: 's0', ld: mm(20), status });
    const m = mapResources([...base(), o]);
    expect(m.record.scans.flatMap((s) => s.measurements).length).toBe(counted ? 1 : 0);
    expect(m.record.issues.map((i) => i.code)).toEqual(issues);
    expect(m.usedSources.includes('Observation/o1')).toBe(counted);
  });

  it.each<[Observation['status'], boolean]>([
    ['final', true],
    ['amended', true],
    ['corrected', true],
    ['preliminary', false],
    ['cancelled', false],
    ['entered-in-error', false],
  ])('non-target status with %s: counted %s', (status, counted) => {
    const o = { ...nonTargetStatus('n1', { lesion: 'L1', date: '2026-01-05', study: 's0', value: 'present' }), status };
    const scans = mapResources([...base(), o]).record.scans;
    expect(scans.flatMap((s) => s.qualitative).length).toBe(counted ? 1 : 0);
  });
});

describe('versions: a newer version of the same resource replaces the older one', () => {
  const v = (versionId: string, size: number, status: Observation['status'] = 'final') =>
    tumorSize('o1', { lesion: 'L1', date: '2026-01-05', study: 's0', ld: mm(size), versionId, status });

  it.each<[string, Observation[], number | undefined, string]>([
    ['v1 then v2', [v('1', 20), v('2', 25, 'amended')], 250, 'Observation/o1/_history/2'],
    ['v2 then v1', [v('2', 25, 'amended'), v('1', 20)], 250, 'Observation/o1/_history/2'],
    ['v10 after v9 (numeric, not text, order)', [v('10', 31), v('9', 29)], 310, 'Observation/o1/_history/10'],
    ['v2 entered-in-error withdraws v1', [v('1', 20), v('2', 20, 'entered-in-error')], undefined, ''],
  ])('%s', (_name, versions, size, source) => {
    const ms = mapResources([...base(), ...versions]).record.scans.flatMap((s) => s.measurements);
    expect(ms[0]?.longestDiameter).toBe(size);
    expect(ms.flatMap((x) => x.sources)).toEqual(size === undefined ? [] : [source]);
  });

  it('same versionId: the later meta.lastUpdated wins', () => {
    const a = { ...v('1', 20), meta: { versionId: '1', lastUpdated: '2026-01-05T10:00:00Z' } };
    const b = { ...v('1', 22), meta: { versionId: '1', lastUpdated: '2026-01-06T10:00:00Z' } };
    expect(mapResources([...base(), b, a]).record.scans[0]?.measurements[0]?.longestDiameter).toBe(220);
  });
});

describe('lesion roles', () => {
  it("the lesion-role extension sets the lesion's explicit role", () => {
    const o = tumorSize('o1', { lesion: 'L1', date: '2026-01-05', study: 's0', ld: mm(20), role: 'non-target' });
    expect(mapResources([...base(), o]).record.lesions).toEqual([
      {
        id: 'BodyStructure/L1',
        organ: 'snomed:39607008',
        nodal: false,
        site: 'Lung structure',
        explicitRole: 'non-target',
      },
    ]);
  });

  it('the first role given wins; an unknown role is reported and ignored', () => {
    const o1 = tumorSize('o1', { lesion: 'L1', date: '2026-01-05', study: 's0', ld: mm(20), role: 'bogus' });
    const o2 = tumorSize('o2', { lesion: 'L1', date: '2026-03-09', ld: mm(20), role: 'target' });
    const o3 = tumorSize('o3', { lesion: 'L1', date: '2026-04-20', ld: mm(20), role: 'non-target' });
    const m = mapResources([...base(), o1, o2, o3]);
    expect(m.record.lesions[0]?.explicitRole).toBe('target');
    expect(m.record.issues.map((i) => i.code)).toContain('unknown-lesion-role');
  });

  it('no extension: no explicit role (the engine infers it)', () => {
    const o = tumorSize('o1', { lesion: 'L1', date: '2026-01-05', study: 's0', ld: mm(20) });
    expect(mapResources([...base(), o]).record.lesions[0]?.explicitRole).toBeUndefined();
  });

  it('a focus on a BodyStructure not in the Bundle makes an unknown-organ lesion, reported', () => {
    const o = tumorSize('o1', { lesion: 'L9', date: '2026-01-05', study: 's0', ld: mm(20) });
    const m = mapResources([...base(), o]);
    expect(m.record.lesions.find((l) => l.id === 'BodyStructure/L9')).toEqual({
      id: 'BodyStructure/L9',
      organ: 'unknown:BodyStructure/L9',
      nodal: false,
    });
    expect(m.record.issues.map((i) => i.code)).toEqual(['lesion-without-body-structure']);
  });

  it('a BodyStructure identifier is the lesion key', () => {
    const m = mapResources([
      patient(),
      bodyStructure('L1', undefined, { identifier: 'lesion-A' }),
      tumorSize('o1', { lesion: 'L1', date: '2026-01-05', ld: mm(20) }),
    ]);
    expect(m.record.lesions.map((l) => l.id)).toEqual(['lesion-A']);
    expect(m.record.scans[0]?.measurements[0]?.lesionId).toBe('lesion-A');
  });
});

describe('grouping measurements into scans', () => {
  const studies = [imagingStudy('s0', '2026-01-05T09:00:00Z'), imagingStudy('s1', '2026-03-09T23:30:00Z')];
  const scansOf = (...os: Observation[]) =>
    mapResources([patient(), bodyStructure('L1'), bodyStructure('L2'), ...studies, ...os]).record.scans.map((s) => ({
      date: s.date,
      studies: s.imagingStudies,
      lesions: s.measurements.map((m) => m.lesionId),
    }));

  it.each<[string, Observation[], { date: string; studies: string[]; lesions: string[] }[]]>([
    [
      'derivedFrom ties a measurement read the next day to its study',
      [tumorSize('o1', { lesion: 'L1', date: '2026-03-10T08:00:00Z', study: 's1', ld: mm(20) })],
      [
        { date: '2026-01-05', studies: ['ImagingStudy/s0'], lesions: [] },
        { date: '2026-03-09', studies: ['ImagingStudy/s1'], lesions: ['BodyStructure/L1'] },
      ],
    ],
    [
      'without derivedFrom, a measurement joins the scan of the same date',
      [tumorSize('o1', { lesion: 'L1', date: '2026-01-05T10:00:00Z', ld: mm(20) })],
      [
        { date: '2026-01-05', studies: ['ImagingStudy/s0'], lesions: ['BodyStructure/L1'] },
        { date: '2026-03-09', studies: ['ImagingStudy/s1'], lesions: [] },
      ],
    ],
    [
      'without derivedFrom and without a study that day, a measurement makes its own scan',
      [tumorSize('o1', { lesion: 'L1', date: '2026-02-01', ld: mm(20) })],
      [
        { date: '2026-01-05', studies: ['ImagingStudy/s0'], lesions: [] },
        { date: '2026-02-01', studies: [], lesions: ['BodyStructure/L1'] },
        { date: '2026-03-09', studies: ['ImagingStudy/s1'], lesions: [] },
      ],
    ],
    [
      'derivedFrom wins over the date',
      [tumorSize('o1', { lesion: 'L1', date: '2026-01-05', study: 's1', ld: mm(20) })],
      [
        { date: '2026-01-05', studies: ['ImagingStudy/s0'], lesions: [] },
        { date: '2026-03-09', studies: ['ImagingStudy/s1'], lesions: ['BodyStructure/L1'] },
      ],
    ],
    [
      'derivedFrom a study not in the Bundle: the date decides',
      [tumorSize('o1', { lesion: 'L1', date: '2026-03-09', study: 's-missing', ld: mm(20) })],
      [
        { date: '2026-01-05', studies: ['ImagingStudy/s0'], lesions: [] },
        { date: '2026-03-09', studies: ['ImagingStudy/s1'], lesions: ['BodyStructure/L1'] },
      ],
    ],
  ])('%s', (_name, os, expected) => {
    expect(scansOf(...os)).toEqual(expected);
  });

  it('a cancelled ImagingStudy is not a scan', () => {
    const m = mapResources([patient(), imagingStudy('s0', '2026-01-05', 'cancelled'), bodyStructure('L1')]);
    expect(m.record.scans).toEqual([]);
  });

  it('a measurement without any date or study is reported and not used', () => {
    const o = tumorSize('o1', { lesion: 'L1', date: '', ld: mm(20) });
    delete o.effectiveDateTime;
    const m = mapResources([patient(), bodyStructure('L1'), o]);
    expect(m.record.scans).toEqual([]);
    expect(m.record.issues.map((i) => i.code)).toEqual(['measurement-without-date']);
  });
});

describe('urn:uuid references in a transaction Bundle', () => {
  const U = {
    patient: 'urn:uuid:11111111-1111-4111-8111-111111111111',
    lesion: 'urn:uuid:22222222-2222-4222-8222-222222222222',
    study: 'urn:uuid:33333333-3333-4333-8333-333333333333',
    obs: 'urn:uuid:44444444-4444-4444-8444-444444444444',
  };
  const entries = () => {
    const o = tumorSize('x', { lesion: U.lesion, date: '2026-03-10', study: U.study, ld: mm(20) });
    o.subject = { reference: U.patient };
    const b = bodyStructure('x');
    b.patient = { reference: U.patient };
    const s = imagingStudy('x', '2026-03-09T09:00:00Z');
    s.subject = { reference: U.patient };
    const resources: [string, Resource][] = [
      [U.patient, patient()],
      [U.lesion, b],
      [U.study, s],
      [U.obs, o],
    ];
    return resources.map(([fullUrl, r]): BundleEntry => {
      const { id: _id, ...rest } = r;
      return { fullUrl, resource: rest as Resource, request: { method: 'POST', url: r.resourceType } };
    });
  };

  it("resolves focus, derivedFrom and subject through the entries' fullUrls", () => {
    const { resources, aliases } = readBundle({ resourceType: 'Bundle', type: 'transaction', entry: entries() });
    const m = mapToDomain(resources, { catalogue: defaultCatalogue(), aliases });
    const id = (u: string) => u.slice('urn:uuid:'.length);
    expect(m.patientRef).toBe(`Patient/${id(U.patient)}`);
    expect(m.record.issues).toEqual([]);
    expect(m.record.lesions.map((l) => l.id)).toEqual([`BodyStructure/${id(U.lesion)}`]);
    expect(m.record.scans).toEqual([
      {
        id: '2026-03-09',
        date: '2026-03-09',
        imagingStudies: [`ImagingStudy/${id(U.study)}`],
        measurements: [
          { lesionId: `BodyStructure/${id(U.lesion)}`, longestDiameter: 200, sources: [`Observation/${id(U.obs)}`] },
        ],
        qualitative: [],
      },
    ]);
  });

  it('DELETE entries are left out', () => {
    const e = entries();
    e[3] = { ...e[3]!, request: { method: 'DELETE', url: 'Observation/x' } };
    const { resources } = readBundle({ resourceType: 'Bundle', type: 'transaction', entry: e });
    expect(resources.map((r) => r.resourceType)).toEqual(['Patient', 'BodyStructure', 'ImagingStudy']);
  });
});

describe('patients', () => {
  it('a resource of another patient is reported and not used', () => {
    const o = tumorSize('o1', { lesion: 'L1', date: '2026-01-05', study: 's0', ld: mm(20) });
    o.subject = { reference: 'Patient/other' };
    const m = mapResources([...base(), o]);
    expect(m.record.scans.flatMap((s) => s.measurements)).toEqual([]);
    expect(m.record.issues.map((i) => [i.code, i.source])).toEqual([['other-patient', 'Observation/o1']]);
  });

  it('no Patient resource: the one subject everything points at', () => {
    const o = tumorSize('o1', { lesion: 'L1', date: '2026-01-05', ld: mm(20) });
    expect(mapResources([bodyStructure('L1'), o]).patientRef).toBe(PATIENT_REF);
  });
});
