/**
 * Issue #8 section 2: what the report and the Flag say, from one decision per timepoint. Each row is a minimal
 * patient; the exact sentence is asserted, and what must never be said beside it.
 */
import type { Bundle, DiagnosticReport, Flag, Observation, Provenance, Resource } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { SYSTEM } from '../../src/codes.ts';
import { addDays } from '../../src/domain/dates.ts';
import { assessBundle } from '../../src/pipeline/assess-resources.ts';
import {
  bodyStructure,
  bundle,
  ctdna,
  DOG,
  ecog,
  imagingStudy,
  marker,
  medicationAdministration,
  mm,
  nonTargetStatus,
  patient,
  tumorSize,
} from './builders.ts';

const NOW = '2026-07-01T00:00:00.000Z';
const START = '2026-01-12';

interface Spec {
  /** Scan day (from START) and each lesion's size in mm (or a non-target state). */
  scans: [number, Record<string, number | 'present' | 'increased' | 'unequivocalProgression'>][];
  extra?: Resource[];
  dog?: boolean;
  /** Lesions given the target role explicitly. */
  targets?: string[];
}

function patientBundle(spec: Spec): Bundle {
  const lesions = new Set(spec.scans.flatMap(([, sizes]) => Object.keys(sizes)));
  const rs: Resource[] = [
    patient(spec.dog ? { species: DOG } : {}),
    medicationAdministration('ma1', START),
    ...[...lesions].map((l, i) =>
      bodyStructure(l, { coding: [{ system: SYSTEM.snomed, code: `1000${i}`, display: `Site of ${l}` }] }),
    ),
  ];
  for (const [day, sizes] of spec.scans) {
    const date = addDays(START, day);
    rs.push(imagingStudy(`s${day}`, date));
    for (const [l, v] of Object.entries(sizes)) {
      const role = spec.targets?.includes(l) ? 'target' : undefined;
      rs.push(
        typeof v === 'number'
          ? tumorSize(`${l}-${day}`, { lesion: l, date, study: `s${day}`, ld: mm(v), ...(role ? { role } : {}) })
          : nonTargetStatus(`${l}-${day}`, { lesion: l, date, study: `s${day}`, value: v, role: 'non-target' }),
      );
    }
  }
  return bundle([...rs, ...(spec.extra ?? [])]);
}

function run(spec: Spec) {
  const tx = assessBundle(patientBundle(spec), { now: NOW }).transaction;
  const of = <T extends Resource>(type: string) =>
    (tx.entry ?? []).map((e) => e.resource).filter((r): r is T => r?.resourceType === type);
  const reports = of<DiagnosticReport>('DiagnosticReport');
  const flag = of<Flag>('Flag')[0];
  return {
    reports,
    last: reports.at(-1)!.conclusion!,
    rendered: Buffer.from(reports.at(-1)!.presentedForm![0]!.data!, 'base64').toString('utf8'),
    flag: flag?.code?.text ?? '',
    flagCode: flag?.code?.coding?.[0]?.code,
    observations: of<Observation>('Observation'),
    provenance: of<Provenance>('Provenance')[0]!,
  };
}

const lineOf = (text: string, start: string) => text.split('\n').find((l) => l.startsWith(start));
const d = (day: number) => addDays(START, day);

describe('one next step per timepoint, the same in the report and the Flag', () => {
  it('clinically unstable at iUPD (ECOG 0 -> 2): review now, no advice to continue', () => {
    const r = run({
      scans: [
        [-7, { L1: 30, L2: 20 }],
        [56, { L1: 40, L2: 24 }],
      ],
      extra: [ecog('e0', d(-7), 0), ecog('e1', d(56), 2)],
    });
    const step = `Next step: review the treatment now. The patient is clinically unstable: ECOG 0 at baseline, 2 on ${d(56)}; iRECIST supports treatment beyond progression only for clinically stable patients.`;
    expect(lineOf(r.last, 'Next step:')).toBe(step);
    expect(r.flag).toContain(step);
    for (const text of [r.last, r.flag]) expect(text).not.toMatch(/continu|confirm with a scan/i);
  });

  it('hyperprogression: review now, no "continue", the growth rates in %/month and delta TGR in percentage points', () => {
    const r = run({
      scans: [
        [-70, { L1: 25, L2: 20 }],
        [-7, { L1: 30, L2: 20 }],
        [49, { L1: 70, L2: 40 }],
      ],
    });
    expect(r.flagCode).toBe('hyperprogression');
    expect(lineOf(r.last, 'Next step:')).toBe(
      'Next step: review the treatment now: hyperprogression. A confirming scan is not a reason to wait.',
    );
    expect(lineOf(r.last, 'Hyperprogression')).toMatch(
      /^Hyperprogression: tumour growth rate \d+\.\d%\/month before treatment and \d+\.\d%\/month on it, \d+\.\d-fold \(2-fold or more, Champiat 2017\); delta TGR \d+\.\d percentage points per month\.$/,
    );
    for (const text of [r.last, r.flag]) expect(text).not.toMatch(/continu|Confirm with a scan|bar is reset|delta \d/);
  });

  it('hyperprogression stays the status and Flag code through a later iCPD, and the text says it was confirmed', () => {
    const r = run({
      scans: [
        [-70, { L1: 25, L2: 20 }],
        [-7, { L1: 30, L2: 20 }],
        [49, { L1: 70, L2: 40 }],
        [84, { L1: 80, L2: 40 }],
      ],
    });
    expect(r.flagCode).toBe('hyperprogression');
    expect(lineOf(r.last, 'Next step:')).toBe(
      'Next step: review the treatment now: hyperprogression, now confirmed (iCPD).',
    );
    expect(r.flag).toContain(
      'Hyperprogression: the tumour growth rate at least doubled on treatment, and progression is now confirmed.',
    );
  });

  it('hyperprogression not assessable (no scan before baseline): said in the report and the Flag', () => {
    const r = run({
      scans: [
        [-7, { L1: 30, L2: 20 }],
        [56, { L1: 70, L2: 40 }],
      ],
    });
    const line =
      'Hyperprogression could not be assessed: there is no scan before the baseline scan, so the growth rate before treatment is unknown.';
    expect(r.last).toContain(line);
    expect(r.flag).toContain(line);
  });

  it('a pending iUPD in a stable patient: the confirmation window with its dates', () => {
    const r = run({
      scans: [
        [-7, { L1: 30, L2: 20 }],
        [56, { L1: 40, L2: 24 }],
      ],
      extra: [ecog('e0', d(-7), 1), ecog('e1', d(56), 1)],
    });
    const step = `Next step: confirm with a scan between ${d(84)} and ${d(112)} (28-56 days after the unconfirmed progression of ${d(56)}). The patient is clinically stable: ECOG 1 at baseline, 1 on ${d(56)}. iRECIST supports continuing treatment until then while the patient stays clinically stable.`;
    expect(lineOf(r.last, 'Next step:')).toBe(step);
    expect(r.flag).toContain(step);
  });

  it('response: the next assessment, at the default interval at the first follow-up and said so', () => {
    const r = run({
      scans: [
        [-7, { L1: 30, L2: 20 }],
        [56, { L1: 15, L2: 10 }],
      ],
    });
    expect(lineOf(r.last, 'Next step:')).toBe(
      `Next step: next assessment by ${addDays(d(56), 56)} (8 weeks after this scan, the default for human patients until the patient's own scan interval is known).`,
    );
  });

  it("then at the interval of the patient's own scans", () => {
    const r = run({
      scans: [
        [-7, { L1: 30, L2: 20 }],
        [35, { L1: 15, L2: 10 }],
        [77, { L1: 14, L2: 10 }],
      ],
    });
    expect(lineOf(r.last, 'Next step:')).toBe(
      `Next step: next assessment by ${addDays(d(77), 42)} (6 weeks after this scan, the interval of this patient's recent scans).`,
    );
  });

  it('a dog: the canine profile named, the 21-28 day window', () => {
    const r = run({
      dog: true,
      scans: [
        [-3, { L1: 30, L2: 20 }],
        [21, { L1: 40, L2: 24 }],
      ],
    });
    expect(lineOf(r.last, 'Criteria:')).toBe(
      'Criteria: iRECIST with the canine profile (confirmation scan 21-28 days after an unconfirmed progression, the 3-4 week recheck of veterinary practice).',
    );
    expect(r.flag).toMatch(
      /^Possible pseudoprogression since \S+ \(iRECIST, canine profile with its 21-28 day confirmation window\)\./,
    );
    expect(lineOf(r.last, 'Next step:')).toContain(`between ${d(42)} and ${d(49)} (21-28 days after`);
  });
});

describe('what the report names', () => {
  it('the drug by name, and the missing lesion', () => {
    const r = run({
      scans: [
        [-7, { L1: 30, L2: 20 }],
        [56, { L1: 28 }],
      ],
    });
    expect(r.last.split('\n')[0]).toBe(
      `Not evaluable (NE) on ${d(56)}, day 56 of pembrolizumab (started ${START}). Patient status: not evaluable.`,
    );
    expect(r.last).toContain('Target lesions: not evaluable (L2 (Site of L2) not measured)');
    expect(lineOf(r.last, 'Next step:')).toMatch(
      /^Next step: complete the assessment: L2 \(Site of L2\) not measured or not reported; measure it on this scan or repeat imaging by /,
    );
  });

  it('an increased non-target is an increase in the report and in the timepoint Observation, never non-CR/non-PD', () => {
    const r = run({
      targets: ['L1'],
      scans: [
        [-7, { L1: 30, N1: 'present' }],
        [56, { L1: 29, N1: 'increased' }],
      ],
    });
    expect(r.last).toContain('non-target lesions: increase, not unequivocal progression (N1 (Site of N1))');
    expect(r.last).not.toContain('non-CR/non-PD');
    const component = r.observations
      .flatMap((o) => o.component ?? [])
      .find((c) => c.code.coding?.[0]?.code === 'non-target-response');
    expect(component?.valueCodeableConcept).toEqual({
      coding: [
        {
          system: 'https://irecist-adapter.dev/fhir/CodeSystem/irecist',
          code: 'category-increased',
          display: 'increase, not unequivocal progression',
        },
      ],
      text: 'increase, not unequivocal progression',
    });
  });

  it('oligoprogression only when the rest of the disease is stable or responding; else widespread', () => {
    const oligo = run({
      scans: [
        [-7, { L1: 30, L2: 20, L3: 20 }],
        [56, { L1: 45, L2: 19, L3: 20 }],
      ],
    });
    expect(oligo.last).toContain(
      'Oligoprogression: 1 lesion(s) progressing (L1 (Site of L1)); the rest of the disease is stable or responding.',
    );
    const widespread = run({
      scans: [
        [-7, { L1: 30, L2: 20, L3: 20 }],
        [56, { L1: 45, L2: 22, L3: 21 }],
      ],
    });
    expect(widespread.last).toContain(
      'Widespread progression: all 3 assessed lesions are larger than at their smallest; 1 lesion(s) progressing (L1 (Site of L1)).',
    );
    expect(widespread.last).not.toContain('Oligoprogression');
    const single = run({
      scans: [
        [-7, { L1: 30 }],
        [56, { L1: 45 }],
      ],
    });
    expect(single.last).toContain(
      'All assessed disease is growing (1 lesion(s) progressing (L1 (Site of L1))): not oligoprogression.',
    );
    expect(single.last).not.toContain('Widespread');
  });

  it('the lesion table in the rendered report: site, baseline, smallest, this scan, change; a lesion not measured named', () => {
    const r = run({
      scans: [
        [-7, { L1: 30, L2: 20 }],
        [56, { L1: 24, L2: 14 }],
        [98, { L1: 20 }],
      ],
    });
    const table = r.rendered.split('\n\n').find((b) => b.startsWith('Lesions\n'))!;
    expect(table.split('\n')).toEqual([
      'Lesions',
      'lesion  role    site        baseline  smallest before  this scan                 vs baseline        vs smallest',
      'L1      target  Site of L1  30.0 mm   24.0 mm          20.0 mm                   -10.0 mm (-33.3%)  -4.0 mm (-16.7%)',
      'L2      target  Site of L2  20.0 mm   14.0 mm          not measured or reported',
    ]);
  });
});

describe('lab values through UCUM', () => {
  it('ctDNA 3.2 % and 0.032 (UCUM 1) are the same amount: no fall, no claim of pseudoprogression', () => {
    const r = run({
      scans: [
        [-7, { L1: 30, L2: 20 }],
        [56, { L1: 40, L2: 24 }],
      ],
      extra: [ctdna('c0', d(-7), 3.2), ctdna('c1', d(56), 0.032, '1')],
    });
    expect(r.last).toContain(`ctDNA ${d(-7)} 3.2%, ${d(56)} 3.2%: no clear signal`);
    expect(r.last).not.toMatch(/fell|fold/);
  });

  it('LDH in U/L then ukat/L: one unit, the trend computed in it', () => {
    const r = run({
      scans: [
        [-7, { L1: 30, L2: 20 }],
        [56, { L1: 29, L2: 20 }],
      ],
      extra: [
        marker('ldh0', d(-7), '2532-0', { value: 300, unit: 'U/L', system: SYSTEM.ucum, code: 'U/L' }),
        marker('ldh1', d(56), '2532-0', { value: 6, unit: 'ukat/L', system: SYSTEM.ucum, code: 'ukat/L' }),
      ],
    });
    expect(r.last).toContain(`LDH rising (5 ukat/L on ${d(-7)} to 6 ukat/L on ${d(56)})`);
  });
});

describe('a computed result, and where it comes from', () => {
  const r = run({
    scans: [
      [-7, { L1: 30, L2: 20 }],
      [56, { L1: 40, L2: 24 }],
    ],
  });
  const statement =
    'Produced automatically by irecist-adapter 0.1.0 from the listed measurements; not reviewed by a radiologist.';

  it('every report and the Flag say so; the Flag names its sources', () => {
    for (const report of r.reports) expect(report.conclusion).toContain(statement);
    expect(r.flag).toContain(statement);
    expect(r.flag).toContain(
      'Sources: iRECIST (Seymour et al. 2017), RECIST 1.1 (Eisenhauer et al. 2009), hyperprogression (Champiat et al. 2017); irecist-adapter 0.1.0, released 2026-12-02; no demographic or social data used; details in the linked report.',
    );
  });

  it('the rendered report lists the decision-support source attributes', () => {
    const about = r.rendered.split('\n\n').find((b) => b.startsWith('About this result'))!;
    expect(about).toContain('Citation: Seymour L, et al. iRECIST');
    expect(about).toContain('Citation: Eisenhauer EA, et al.');
    expect(about).toContain('Citation: Champiat S, et al.');
    expect(about).toContain('Version: irecist-adapter 0.1.0, released 2026-12-02.');
    expect(about).toContain(
      'Not used: race, ethnicity, language, sexual orientation, gender identity, sex, date of birth, social determinants of health.',
    );
  });

  it('the Device in the Provenance carries them too', () => {
    const device = r.provenance.contained?.[0] as {
      manufacturer?: string;
      manufactureDate?: string;
      note?: { text: string }[];
    };
    expect(device.manufacturer).toBe('the irecist-adapter project (open source, Apache-2.0)');
    expect(device.manufactureDate).toBe('2026-12-02');
    expect(device.note?.map((n) => n.text)).toContain(
      'Not used: race, ethnicity, language, sexual orientation, gender identity, sex, date of birth, social determinants of health.',
    );
  });
});
