/**
 * Property-based tests (fast-check) over arbitrary patient records: random lesions (nodal or not, any role),
 * sizes 0-300 mm or missing or too small to measure, qualitative states, random dates, doses, dog or human.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Assessment, assessPatient } from '../../src/domain/assess.ts';
import { meetsPartialResponse, meetsProgression } from '../../src/domain/recist.ts';
import { flagPriority } from '../../src/domain/status.ts';
import type {
  LabValue,
  Lesion,
  LesionRole,
  Measurement,
  PatientRecord,
  QualitativeAssessment,
  QualitativeState,
  Scan,
  TimepointResponse,
} from '../../src/domain/types.ts';
import { addDaysIso } from './builders.ts';

const MAX_LESIONS = 7;
const MAX_SCANS = 8;
const DAY0 = '2025-01-01';
const STATES: QualitativeState[] = ['absent', 'present', 'unequivocal-progression', 'increased'];

type Cell =
  | { kind: 'none' }
  | { kind: 'size'; ld: number; sa: number | undefined }
  | { kind: 'rel'; factor: number }
  | { kind: 'tstm' }
  | { kind: 'q'; state: QualitativeState }
  | { kind: 'both'; ld: number; state: QualitativeState };

const tenths = fc.integer({ min: 0, max: 3000 });
const cellArb: fc.Arbitrary<Cell> = fc.oneof(
  { weight: 2, arbitrary: fc.constant<Cell>({ kind: 'none' }) },
  // Sizes relative to the lesion's own size, so that realistic SD / PR / reset sequences come up often.
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('rel' as const),
      factor: fc.constantFrom(0, 0.3, 0.5, 0.7, 0.8, 0.9, 1, 1, 1, 1.05, 1.1, 1.2, 1.3, 1.6),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('size' as const), ld: tenths, sa: fc.option(tenths, { nil: undefined }) }),
  },
  { weight: 1, arbitrary: fc.constant<Cell>({ kind: 'tstm' }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('q' as const), state: fc.constantFrom(...STATES) }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('both' as const), ld: tenths, state: fc.constantFrom(...STATES) }),
  },
);

const lesionArb = fc.record({
  size: fc.integer({ min: 30, max: 1500 }),
  organ: fc.constantFrom('liver', 'lung', 'bone', 'adrenal'),
  nodal: fc.boolean(),
  role: fc.option(fc.constantFrom<LesionRole>('target', 'non-target', 'new'), { nil: undefined, freq: 4 }),
});

const labArb = (max: number) =>
  fc.array(
    fc.record({
      day: fc.integer({ min: -60, max: 800 }),
      value: fc.option(fc.double({ min: 0, max: max, noNaN: true }), { nil: undefined }),
      detected: fc.option(fc.boolean(), { nil: undefined }),
    }),
    { maxLength: 4 },
  );

const recordArb = fc
  .record({
    species: fc.constantFrom('human' as const, 'dog' as const),
    lesions: fc.array(lesionArb, { minLength: 0, maxLength: MAX_LESIONS }),
    scanDays: fc.uniqueArray(fc.integer({ min: 0, max: 720 }), { minLength: 0, maxLength: MAX_SCANS }),
    doseDays: fc.array(fc.integer({ min: -30, max: 720 }), { maxLength: 3 }),
    cells: fc.array(fc.array(cellArb, { minLength: MAX_LESIONS, maxLength: MAX_LESIONS }), {
      minLength: MAX_SCANS,
      maxLength: MAX_SCANS,
    }),
    ctdna: labArb(50),
    ecog: labArb(4),
    markers: labArb(500),
  })
  .map((g): PatientRecord => {
    const lesions: Lesion[] = g.lesions.map((l, i) => {
      const lesion: Lesion = { id: `L${i}`, organ: l.nodal ? 'lymph-node' : l.organ, nodal: l.nodal };
      if (l.role) lesion.explicitRole = l.role;
      return lesion;
    });
    const scans: Scan[] = g.scanDays.map((day, s) => {
      const date = addDaysIso(DAY0, day);
      const measurements: Measurement[] = [];
      const qualitative: QualitativeAssessment[] = [];
      lesions.forEach((l, i) => {
        const c = g.cells[s]![i]!;
        const sources = [`Observation/${l.id}-${date}`];
        if (c.kind === 'rel') {
          const size = Math.round(g.lesions[i]!.size * c.factor);
          measurements.push({ lesionId: l.id, longestDiameter: size, shortAxis: size, sources });
        } else if (c.kind === 'size') {
          const m: Measurement = { lesionId: l.id, longestDiameter: c.ld, sources };
          if (c.sa !== undefined) m.shortAxis = Math.min(c.sa, c.ld);
          measurements.push(m);
        } else if (c.kind === 'tstm') {
          measurements.push({ lesionId: l.id, tooSmallToMeasure: true, sources });
        } else if (c.kind === 'q') {
          qualitative.push({ lesionId: l.id, state: c.state, sources });
        } else if (c.kind === 'both') {
          measurements.push({ lesionId: l.id, longestDiameter: c.ld, shortAxis: c.ld, sources });
          qualitative.push({ lesionId: l.id, state: c.state, sources: [`${sources[0]}-q`] });
        }
      });
      return { id: date, date, imagingStudies: [`ImagingStudy/${date}`], measurements, qualitative };
    });
    const lab = (xs: { day: number; value: number | undefined; detected: boolean | undefined }[], name: string) =>
      xs.map((x, i): LabValue => {
        const v: LabValue = { date: addDaysIso(DAY0, x.day), source: `Observation/${name}-${i}` };
        if (x.value !== undefined) v.value = x.value;
        if (x.detected !== undefined) v.detected = x.detected;
        return v;
      });
    return {
      patientId: 'prop',
      species: g.species,
      lesions,
      scans,
      doses: g.doseDays.map((d, i) => ({ date: addDaysIso(DAY0, d), drug: 'pembrolizumab', source: `MA/${i}` })),
      ctdna: lab(g.ctdna, 'ctdna'),
      ecog: lab(g.ecog, 'ecog').map((v) => (v.value === undefined ? v : { ...v, value: Math.round(v.value) })),
      markers: [{ name: 'CEA', values: lab(g.markers, 'cea') }],
      issues: [],
    };
  });

/** Fisher-Yates with a small seeded generator (mulberry32), so a failing case replays exactly. */
function shuffled<T>(xs: readonly T[], seed: number): T[] {
  let a = seed >>> 0;
  const rnd = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** What must not depend on input order. */
const summary = (a: Assessment) => ({
  treatmentStart: a.treatmentStart,
  baseline: a.baseline?.date,
  baselineSod: a.baselineSod,
  roles: [a.roles.targets, a.roles.nonTargets, a.roles.newLesions].map((ls) => ls.map((l) => l.id)),
  status: a.status,
  timepoints: a.timepoints.map((t) => ({
    date: t.date,
    response: t.response,
    status: t.status,
    flag: t.flagPriority,
    target: t.target.response,
    sod: t.target.sod,
    nonTarget: t.nonTarget.response,
    newCount: t.newLesions.count,
    nltSum: t.newLesions.nltSum,
    triggers: t.step.triggers,
    progressing: t.progressingLesions,
    hyper: t.hyperprogression?.hyperprogression,
  })),
});

const RESPONSES: TimepointResponse[] = ['iCR', 'iPR', 'iSD', 'iNN', 'iUPD', 'iCPD', 'NE'];
const FLAGGED = ['possible-pseudoprogression', 'pseudoprogression', 'confirmed-progression', 'hyperprogression'];
const runs = { numRuns: 400 };

describe('properties of assessPatient over arbitrary records', () => {
  it('never throws; one timepoint per scan after baseline; only known codes', () => {
    fc.assert(
      fc.property(recordArb, (record) => {
        const a = assessPatient(record);
        const dates = [...new Set(record.scans.map((s) => s.date))].sort();
        const after = a.baseline ? dates.filter((d) => d > a.baseline!.date) : [];
        expect(a.timepoints.map((t) => t.date)).toEqual(after);
        for (const t of a.timepoints) expect(RESPONSES).toContain(t.response);
      }),
      runs,
    );
  });

  it('lesion order, scan order, measurement order and dose order do not change the assessment', () => {
    fc.assert(
      fc.property(recordArb, fc.integer(), (record, seed) => {
        const permuted: PatientRecord = {
          ...record,
          lesions: shuffled(record.lesions, seed),
          scans: shuffled(record.scans, seed + 1).map((s, i) => ({
            ...s,
            measurements: shuffled(s.measurements, seed + 2 + i),
            qualitative: shuffled(s.qualitative, seed + 3 + i),
          })),
          doses: shuffled(record.doses, seed + 4),
        };
        expect(summary(assessPatient(permuted))).toEqual(summary(assessPatient(record)));
      }),
      runs,
    );
  });

  it('exactly one status per timepoint; it is flagged (with the right priority) iff it is one of the four', () => {
    fc.assert(
      fc.property(recordArb, (record) => {
        for (const t of assessPatient(record).timepoints) {
          expect(t.flagPriority).toBe(flagPriority(t.status));
          expect(t.flagPriority !== undefined).toBe(FLAGGED.includes(t.status));
        }
      }),
      runs,
    );
  });

  it('status agrees with the response: iCPD <-> confirmed progression (or hyperprogression, which stays through it); a pending iUPD shows as iUPD or NE', () => {
    fc.assert(
      fc.property(recordArb, (record) => {
        for (const t of assessPatient(record).timepoints) {
          if (t.response === 'iCPD') expect(['confirmed-progression', 'hyperprogression']).toContain(t.status);
          if (t.status === 'confirmed-progression') expect(t.response).toBe('iCPD');
          if (t.status === 'hyperprogression') expect(['iUPD', 'NE', 'iCPD']).toContain(t.response);
          if (t.status === 'possible-pseudoprogression' || (t.status === 'hyperprogression' && t.response !== 'iCPD')) {
            expect(['iUPD', 'NE']).toContain(t.response);
            expect(t.confirmationWindow).toBeDefined();
          }
          if (t.response === 'iUPD') expect(['possible-pseudoprogression', 'hyperprogression']).toContain(t.status);
        }
      }),
      runs,
    );
  });

  it('once iCPD, always iCPD; the first iCPD follows a pending iUPD', () => {
    fc.assert(
      fc.property(recordArb, (record) => {
        const tps = assessPatient(record).timepoints;
        const first = tps.findIndex((t) => t.response === 'iCPD');
        if (first < 0) return;
        expect(tps.slice(first).every((t) => t.response === 'iCPD')).toBe(true);
        expect(first).toBeGreaterThan(0);
        expect(['possible-pseudoprogression', 'hyperprogression']).toContain(tps[first - 1]!.status);
      }),
      runs,
    );
  });

  it('pseudoprogression only after an iUPD; hyperprogression only from the first timepoint', () => {
    fc.assert(
      fc.property(recordArb, (record) => {
        const tps = assessPatient(record).timepoints;
        tps.forEach((t, i) => {
          if (t.status === 'pseudoprogression') expect(tps.slice(0, i).some((p) => p.response === 'iUPD')).toBe(true);
          if (t.status === 'hyperprogression') {
            expect(tps[0]!.response).toBe('iUPD');
            expect(tps.slice(0, i + 1).every((p) => p.status === 'hyperprogression')).toBe(true);
          }
        });
      }),
      runs,
    );
  });

  it('with no iUPD pending, target or non-target PD gives iUPD with those categories as triggers', () => {
    fc.assert(
      fc.property(recordArb, (record) => {
        const tps = assessPatient(record).timepoints;
        tps.forEach((t, i) => {
          const before = tps[i - 1]?.status;
          const pendingOrConfirmed = ['possible-pseudoprogression', 'hyperprogression', 'confirmed-progression'];
          if (before !== undefined && pendingOrConfirmed.includes(before)) return;
          const expected = [
            ...(t.target.response === 'PD' ? ['target'] : []),
            ...(t.nonTarget.response === 'PD' ? ['non-target'] : []),
          ];
          if (expected.length === 0) return;
          expect(t.response).toBe('iUPD');
          expect(t.step.triggers?.filter((c) => c !== 'new-lesion')).toEqual(expected);
          expect(t.step.reference?.date).toBe(t.date);
        });
      }),
      runs,
    );
  });

  it('the first iCPD: before the minimum interval only by an additional new lesion; late ones carry the issue', () => {
    fc.assert(
      fc.property(recordArb, (record) => {
        const a = assessPatient(record);
        const t = a.timepoints.find((x) => x.response === 'iCPD');
        if (!t) return;
        const ref = t.step.reference!;
        expect(t.step.confirmedBy?.length).toBeGreaterThan(0);
        expect(t.step.daysSinceUpd).toBe(Math.round((Date.parse(t.date) - Date.parse(ref.date)) / 86_400_000));
        if (t.step.daysSinceUpd! < a.profile.minConfirmationDays) {
          expect(t.newLesions.count).toBeGreaterThan(ref.newCount);
        }
        const late = t.step.daysSinceUpd! > a.profile.maxConfirmationDays;
        expect(t.issues.some((i) => i.code === 'late-confirmation')).toBe(late);
      }),
      runs,
    );
  });

  it('ctDNA, ECOG and tumour markers never change a response or status', () => {
    fc.assert(
      fc.property(recordArb, (record) => {
        const without = assessPatient({ ...record, ctdna: [], ecog: [], markers: [] });
        const withEvidence = assessPatient(record);
        expect(withEvidence.timepoints.map((t) => [t.response, t.status])).toEqual(
          without.timepoints.map((t) => [t.response, t.status]),
        );
      }),
      runs,
    );
  });

  it('iCR only when every new lesion seen is reported gone; a reset never leaves a triggering new lesion unreported', () => {
    fc.assert(
      fc.property(recordArb, (record) => {
        for (const t of assessPatient(record).timepoints) {
          if (t.response === 'iCR') expect(t.newLesions.gone.length).toBe(t.newLesions.count);
          if (t.step.reset && t.step.reference?.triggers.includes('new-lesion')) {
            expect(t.newLesions.unreported).toEqual([]);
          }
        }
      }),
      runs,
    );
  });

  it('one next step per timepoint: review now for hyperprogression, confirmed progression or an unstable patient at iUPD', () => {
    fc.assert(
      fc.property(recordArb, (record) => {
        for (const t of assessPatient(record).timepoints) {
          const kind = t.nextStep.kind;
          if (t.status === 'hyperprogression' || t.status === 'confirmed-progression')
            expect(kind).toBe('review-treatment');
          if (t.status === 'possible-pseudoprogression') {
            expect(kind).toBe(t.ecog.unstable ? 'review-treatment' : 'confirm-progression');
          }
          if (kind === 'next-assessment' || kind === 'complete-assessment') expect(t.nextStep.by > t.date).toBe(true);
        }
      }),
      runs,
    );
  });

  it('oligoprogression names 1 to 3 progressing lesions; a pattern is named only at iUPD or iCPD', () => {
    fc.assert(
      fc.property(recordArb, (record) => {
        for (const t of assessPatient(record).timepoints) {
          if (t.progressionPattern === 'oligoprogression') {
            expect(t.progressingLesions!.length).toBeGreaterThanOrEqual(1);
            expect(t.progressingLesions!.length).toBeLessThanOrEqual(3);
          }
          if (t.progressionPattern) expect(['iUPD', 'iCPD']).toContain(t.response);
        }
      }),
      runs,
    );
  });

  it('the same record always gives the same assessment', () => {
    fc.assert(
      fc.property(recordArb, (record) => {
        expect(summary(assessPatient(record))).toEqual(summary(assessPatient(structuredClone(record))));
      }),
      { numRuns: 100 },
    );
  });
});

describe('properties of the thresholds', () => {
  it('meetsProgression is exactly "at least 20% and at least 5.0 mm over the nadir" in tenths', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 20_000 }), fc.integer({ min: 0, max: 20_000 }), (nadir, sod) => {
        // 5 x SOD >= 6 x nadir  <=>  SOD >= 1.2 x nadir, without fractions
        expect(meetsProgression(sod, nadir)).toBe(5 * sod >= 6 * nadir && sod - nadir >= 50);
      }),
    );
  });

  it('meetsPartialResponse is exactly "at most 70% of baseline"', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 20_000 }), fc.integer({ min: 0, max: 20_000 }), (baseline, sod) => {
        expect(meetsPartialResponse(sod, baseline)).toBe(10 * sod <= 7 * baseline);
      }),
    );
  });
});
