/**
 * Writes the samples written from the seed articles (../shared/seeds) beside the shared cases: CASE.bundle.json,
 * CASE.expected.json (the same format as the shared cases) and transactions/CASE.transaction.json.
 *
 *   node samples/build-extra-cases.ts
 *
 * test/cli/samples.test.ts checks that the committed files match what this script writes.
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SAMPLES_DIR, transactionText } from './build-transactions.ts';

type Json = Record<string, unknown>;

const SNOMED = 'http://snomed.info/sct';
const LOINC = 'http://loinc.org';
const UCUM = 'http://unitsofmeasure.org';
const BASE = 'https://irecist-adapter.dev/fhir';
const RXNORM = 'http://www.nlm.nih.gov/research/umls/rxnorm';
const NODE = '59441001';

interface CaseSpec {
  name: string;
  title: string;
  dog?: boolean;
  drugs: { date: string; drug: Json }[];
  lesions: { key: string; site: [string, string]; role: 'target' | 'non-target' }[];
  /** Scan date -> lesion key -> size in mm, or a non-target status. */
  scans: [string, Record<string, number | 'present' | 'increased' | 'unequivocal'>][];
  labs?: Json[];
  expected: { timepoints: [string, string][]; status: string; activeFlag: string | null };
}

function build(c: CaseSpec): { bundle: Json; expected: Json } {
  const n = c.name;
  const subject = { reference: `Patient/${n}` };
  const resources: Json[] = [
    {
      resourceType: 'Patient',
      id: n,
      name: [c.dog ? { given: [n] } : { family: 'Case', given: [n] }],
      ...(c.dog
        ? {
            extension: [
              {
                url: 'http://hl7.org/fhir/StructureDefinition/patient-animal',
                extension: [
                  {
                    url: 'species',
                    valueCodeableConcept: {
                      coding: [{ system: SNOMED, code: '448771007', display: 'Canis lupus familiaris' }],
                    },
                  },
                ],
              },
            ],
          }
        : {}),
    },
  ];
  for (const l of c.lesions) {
    resources.push({
      resourceType: 'BodyStructure',
      id: `${n}-${l.key}`,
      identifier: [{ system: 'http://radiology.example.org/lesion', value: `${n}-${l.key}` }],
      location: { coding: [{ system: SNOMED, code: l.site[0], display: l.site[1] }] },
      patient: subject,
    });
  }
  for (const [i, d] of c.drugs.entries()) {
    resources.push({
      resourceType: 'MedicationAdministration',
      id: `${n}-ma${i + 1}`,
      status: 'completed',
      medicationCodeableConcept: d.drug,
      subject,
      effectiveDateTime: `${d.date}T10:00:00Z`,
    });
  }
  c.scans.forEach(([date, sizes], t) => {
    const study = `${n}-study${t}`;
    resources.push({
      resourceType: 'ImagingStudy',
      id: study,
      status: 'available',
      subject,
      started: `${date}T09:00:00Z`,
      modality: [{ system: 'http://dicom.nema.org/resources/ontology/DCM', code: 'CT' }],
    });
    for (const [key, value] of Object.entries(sizes)) {
      const lesion = c.lesions.find((l) => l.key === key)!;
      const common = {
        id: `${n}-${key}-t${t}`,
        status: 'final',
        subject,
        effectiveDateTime: `${date}T09:30:00Z`,
        focus: [{ reference: `BodyStructure/${n}-${key}` }],
        derivedFrom: [{ reference: `ImagingStudy/${study}` }],
        extension: [{ url: `${BASE}/StructureDefinition/lesion-role`, valueCode: lesion.role }],
      };
      resources.push(
        typeof value === 'number'
          ? {
              resourceType: 'Observation',
              ...common,
              code: { coding: [{ system: LOINC, code: '21889-1', display: 'Size Tumor' }] },
              method: { coding: [{ system: SNOMED, code: '77477000', display: 'Computerized axial tomography' }] },
              // A node is measured by its short axis (SNOMED 103340004); its longest diameter is given too.
              component: [
                {
                  code: { coding: [{ system: LOINC, code: '33728-7', display: 'Size.maximum dimension in Tumor' }] },
                  valueQuantity: {
                    value: lesion.site[0] === NODE ? value + 6 : value,
                    unit: 'mm',
                    system: UCUM,
                    code: 'mm',
                  },
                },
                ...(lesion.site[0] === NODE
                  ? [
                      {
                        code: { coding: [{ system: SNOMED, code: '103340004', display: 'Short axis' }] },
                        valueQuantity: { value, unit: 'mm', system: UCUM, code: 'mm' },
                      },
                    ]
                  : []),
              ],
            }
          : {
              resourceType: 'Observation',
              ...common,
              code: { coding: [{ system: `${BASE}/CodeSystem/irecist`, code: 'non-target-lesion-status' }] },
              valueCodeableConcept: {
                coding: [
                  value === 'present'
                    ? { system: 'http://dicom.nema.org/resources/ontology/DCM', code: '112046' }
                    : value === 'unequivocal'
                      ? { system: 'http://dicom.nema.org/resources/ontology/DCM', code: '112047' }
                      : { system: `${BASE}/CodeSystem/irecist`, code: 'increased' },
                ],
              },
            },
      );
    }
  });
  resources.push(...(c.labs ?? []).map((l) => ({ ...l, subject })));
  return {
    bundle: {
      resourceType: 'Bundle',
      type: 'collection',
      meta: { tag: [{ system: `${BASE}/case`, code: n }] },
      entry: resources.map((resource) => ({
        fullUrl: `http://example.org/fhir/${resource.resourceType}/${resource.id}`,
        resource,
      })),
    },
    expected: { case: n, title: c.title, patient: `Patient/${n}`, ...c.expected },
  };
}

const lab = (id: string, date: string, code: Json, value: Json): Json => ({
  resourceType: 'Observation',
  id,
  status: 'final',
  code,
  effectiveDateTime: `${date}T08:00:00Z`,
  ...value,
});
const ecog = (n: string, i: number, date: string, grade: number) =>
  lab(
    `${n}-ecog${i}`,
    date,
    { coding: [{ system: LOINC, code: '89247-1', display: 'ECOG performance status' }] },
    {
      valueInteger: grade,
    },
  );
const ctdna = (n: string, i: number, date: string, value: number, unit: '%' | '1') =>
  lab(
    `${n}-ctdna${i}`,
    date,
    { coding: [{ system: `${BASE}/CodeSystem/irecist`, code: 'ctdna-tumor-fraction' }] },
    {
      valueQuantity: { value, unit: unit === '%' ? '%' : 'fraction', system: UCUM, code: unit },
    },
  );
const ldh = (n: string, i: number, date: string, value: number, unit: 'U/L' | 'ukat/L') =>
  lab(
    `${n}-ldh${i}`,
    date,
    { coding: [{ system: LOINC, code: '2532-0', display: 'LDH' }] },
    {
      valueQuantity: { value, unit, system: UCUM, code: unit },
    },
  );
const rx = (code: string, display: string): Json => ({ coding: [{ system: RXNORM, code, display }] });
const PEMBROLIZUMAB = rx('1547545', 'pembrolizumab');
const LUNG: [string, string] = ['39607008', 'Lung structure'];
const LIVER: [string, string] = ['10200004', 'Liver structure'];
const ADRENAL: [string, string] = ['23451007', 'Adrenal structure'];
const BONE: [string, string] = ['272673000', 'Bone structure'];

export const EXTRA_CASES: CaseSpec[] = [
  {
    name: 'unstable-hyperprogression',
    title:
      'Slow growth before pembrolizumab, explosive growth on it, and the patient declines (ECOG 0 to 2): hyperprogression, review now',
    drugs: [
      { date: '2026-01-12', drug: PEMBROLIZUMAB },
      { date: '2026-02-02', drug: PEMBROLIZUMAB },
      { date: '2026-02-23', drug: PEMBROLIZUMAB },
    ],
    lesions: [
      { key: 'L1', site: LUNG, role: 'target' },
      { key: 'L2', site: LIVER, role: 'target' },
    ],
    scans: [
      ['2025-11-03', { L1: 24, L2: 18 }],
      ['2026-01-05', { L1: 26, L2: 20 }],
      ['2026-03-02', { L1: 42, L2: 35 }],
    ],
    labs: [
      ecog('unstable-hyperprogression', 0, '2026-01-05', 0),
      ecog('unstable-hyperprogression', 1, '2026-03-02', 2),
    ],
    expected: { timepoints: [['2026-03-02', 'iUPD']], status: 'hyperprogression', activeFlag: 'hyperprogression' },
  },
  {
    name: 'canine-recheck',
    title:
      'A dog on gilvetmab: growth at the 3-week recheck (iUPD), further growth at the 3-4 week confirming recheck (iCPD)',
    dog: true,
    drugs: [
      { date: '2026-02-02', drug: { text: 'Gilvetmab' } },
      { date: '2026-02-23', drug: { text: 'Gilvetmab' } },
      { date: '2026-03-16', drug: { text: 'Gilvetmab' } },
    ],
    lesions: [
      { key: 'L1', site: ['71854001', 'Oral cavity structure'], role: 'target' },
      { key: 'N1', site: [NODE, 'Mandibular lymph node'], role: 'target' },
    ],
    scans: [
      ['2026-02-02', { L1: 30, N1: 20 }],
      ['2026-02-23', { L1: 40, N1: 22 }],
      ['2026-03-19', { L1: 46, N1: 23 }],
    ],
    expected: {
      timepoints: [
        ['2026-02-23', 'iUPD'],
        ['2026-03-19', 'iCPD'],
      ],
      status: 'confirmed-progression',
      activeFlag: 'confirmed-progression',
    },
  },
  {
    name: 'ctdna-two-units',
    title:
      'Nivolumab and ipilimumab: early growth (iUPD) while ctDNA falls 12.8-fold, the lab reporting % then a fraction; then shrinkage (iPR)',
    drugs: [
      { date: '2026-01-12', drug: rx('1597876', 'nivolumab') },
      {
        date: '2026-01-12',
        drug: { coding: [{ system: 'http://www.whocc.no/atc', code: 'L01FX04', display: 'ipilimumab' }] },
      },
      { date: '2026-02-02', drug: rx('1597876', 'nivolumab') },
    ],
    lesions: [
      { key: 'L1', site: LIVER, role: 'target' },
      { key: 'L2', site: LUNG, role: 'target' },
    ],
    scans: [
      ['2026-01-05', { L1: 30, L2: 20 }],
      ['2026-03-09', { L1: 38, L2: 26 }],
      ['2026-04-20', { L1: 20, L2: 12 }],
    ],
    labs: [
      ctdna('ctdna-two-units', 0, '2026-01-05', 3.2, '%'),
      ctdna('ctdna-two-units', 1, '2026-03-09', 0.0025, '1'),
      ctdna('ctdna-two-units', 2, '2026-04-20', 0.0004, '1'),
      ldh('ctdna-two-units', 0, '2026-01-05', 300, 'U/L'),
      ldh('ctdna-two-units', 1, '2026-03-09', 3.5, 'ukat/L'),
      ecog('ctdna-two-units', 0, '2026-01-05', 0),
      ecog('ctdna-two-units', 1, '2026-03-09', 0),
    ],
    expected: {
      timepoints: [
        ['2026-03-09', 'iUPD'],
        ['2026-04-20', 'iPR'],
      ],
      status: 'pseudoprogression',
      activeFlag: 'pseudoprogression',
    },
  },
  {
    name: 'widespread-progression',
    title:
      'All disease growing on pembrolizumab: every target larger and the bone lesion increasing (widespread, iUPD), then confirmed (iCPD)',
    drugs: [
      { date: '2026-01-12', drug: PEMBROLIZUMAB },
      { date: '2026-02-02', drug: PEMBROLIZUMAB },
      { date: '2026-02-23', drug: PEMBROLIZUMAB },
      { date: '2026-03-16', drug: PEMBROLIZUMAB },
    ],
    lesions: [
      { key: 'L1', site: LUNG, role: 'target' },
      { key: 'L2', site: LIVER, role: 'target' },
      { key: 'L3', site: ADRENAL, role: 'target' },
      { key: 'N1', site: BONE, role: 'non-target' },
    ],
    scans: [
      ['2026-01-05', { L1: 30, L2: 25, L3: 15, N1: 'present' }],
      ['2026-03-02', { L1: 40, L2: 28, L3: 17, N1: 'increased' }],
      ['2026-04-06', { L1: 46, L2: 31, L3: 18, N1: 'increased' }],
    ],
    labs: [ecog('widespread-progression', 0, '2026-01-05', 1), ecog('widespread-progression', 1, '2026-03-02', 1)],
    expected: {
      timepoints: [
        ['2026-03-02', 'iUPD'],
        ['2026-04-06', 'iCPD'],
      ],
      status: 'confirmed-progression',
      activeFlag: 'confirmed-progression',
    },
  },
];

const text = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

/** The files of one extra case, by path relative to samples/. */
export function extraCaseFiles(c: CaseSpec): Record<string, string> {
  const { bundle, expected } = build(c);
  return {
    [join('cases', `${c.name}.bundle.json`)]: text(bundle),
    [join('cases', `${c.name}.expected.json`)]: text(expected),
    [join('transactions', `${c.name}.transaction.json`)]: transactionText(bundle as never),
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const c of EXTRA_CASES) {
    for (const [file, content] of Object.entries(extraCaseFiles(c))) writeFileSync(join(SAMPLES_DIR, file), content);
    process.stdout.write(`${c.name}\n`);
  }
}
