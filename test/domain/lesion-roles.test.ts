import { describe, expect, it } from 'vitest';
import { HUMAN } from '../../src/domain/criteria-profile.ts';
import type { LesionRoles } from '../../src/domain/lesion-roles.ts';
import { assignRoles, isMeasurable, pickLargest, sizeOf } from '../../src/domain/lesion-roles.ts';
import { assess, type LesionSpec, lesion, patient, type ScanSpec } from './builders.ts';

/** Roles of a record with the given baseline (and later) scans, as id lists. */
function roles(
  lesions: Record<string, LesionSpec>,
  scans: ScanSpec[],
): { targets: string[]; nonTargets: string[]; newLesions: string[]; inferred: boolean } {
  const record = patient({ doses: [scans[0]!.date], lesions, scans });
  const r: LesionRoles = assignRoles(record.lesions, record.scans[0], HUMAN);
  const ids = (ls: { id: string }[]) => ls.map((l) => l.id);
  return {
    targets: ids(r.targets),
    nonTargets: ids(r.nonTargets),
    newLesions: ids(r.newLesions),
    inferred: r.inferred,
  };
}

const B = '2026-01-05';
const LATER = '2026-02-16';

describe('measurability', () => {
  it.each<[string, boolean, number | undefined, boolean]>([
    ['non-nodal 10.0 mm', false, 100, true],
    ['non-nodal 9.9 mm', false, 99, false],
    ['node 15.0 mm short axis', true, 150, true],
    ['node 14.9 mm short axis', true, 149, false],
    ['node 10.0 mm short axis (pathological, not measurable)', true, 100, false],
    ['no size', false, undefined, false],
  ])('%s -> measurable %s', (_name, nodal, size, measurable) => {
    expect(isMeasurable(lesion('X', { nodal }), size, HUMAN)).toBe(measurable);
  });

  it('a node counts its short axis, other lesions their longest diameter', () => {
    const m = { lesionId: 'X', longestDiameter: 300, shortAxis: 120, sources: [] };
    expect(sizeOf(lesion('X', { nodal: true }), m)).toBe(120);
    expect(sizeOf(lesion('X'), m)).toBe(300);
    expect(sizeOf(lesion('X', { nodal: true }), { lesionId: 'X', longestDiameter: 300, sources: [] })).toBeUndefined();
    expect(sizeOf(lesion('X'), undefined)).toBeUndefined();
  });
});

describe('assignRoles: inferred', () => {
  it.each<[string, Record<string, LesionSpec>, ScanSpec['sizes'], ScanSpec['qualitative'], string[], string[]]>([
    [
      'measurable lesions become targets, others non-target',
      {},
      { L1: 30, L2: 10, L3: 9.9 },
      { NT1: 'present' },
      ['L1', 'L2'],
      ['L3', 'NT1'],
    ],
    [
      'a node needs 15 mm short axis (LD does not count)',
      { N1: { nodal: true }, N2: { nodal: true }, N3: { nodal: true } },
      { N1: 15, N2: 14.9, N3: { ld: 40, sa: 12 } },
      {},
      ['N1'],
      ['N2', 'N3'],
    ],
    [
      'at most 5 targets, largest first',
      {},
      { A: 11, B: 12, C: 13, D: 14, E: 15, F: 16, G: 17 },
      {},
      ['C', 'D', 'E', 'F', 'G'],
      ['A', 'B'],
    ],
    [
      'at most 2 per organ, largest first',
      { A: { organ: 'liver' }, B: { organ: 'liver' }, C: { organ: 'liver' }, D: { organ: 'lung' } },
      { A: 20, B: 40, C: 30, D: 10 },
      {},
      ['B', 'C', 'D'],
      ['A'],
    ],
    [
      'all nodes are one organ: at most 2 nodal targets',
      { N1: { nodal: true }, N2: { nodal: true }, N3: { nodal: true }, L1: {} },
      { N1: 15, N2: 30, N3: 20, L1: 10 },
      {},
      ['L1', 'N2', 'N3'],
      ['N1'],
    ],
    [
      'per-organ cap leaves room for smaller lesions elsewhere within the 5',
      {
        A: { organ: 'liver' },
        B: { organ: 'liver' },
        C: { organ: 'liver' },
        D: { organ: 'lung' },
        E: { organ: 'lung' },
        F: { organ: 'lung' },
        G: { organ: 'bone' },
      },
      { A: 90, B: 80, C: 70, D: 60, E: 50, F: 40, G: 10 },
      {},
      ['A', 'B', 'D', 'E', 'G'],
      ['C', 'F'],
    ],
    [
      'ties are broken by id, whatever the input order',
      {},
      { Z: 20, Y: 20, X: 20, W: 20, V: 20, U: 20 },
      {},
      ['U', 'V', 'W', 'X', 'Y'],
      ['Z'],
    ],
    [
      'a lesion seen at baseline only as qualitatively absent is non-target',
      {},
      { L1: 20 },
      { NT1: 'absent' },
      ['L1'],
      ['NT1'],
    ],
    ['a target too small to measure at baseline is non-target', {}, { L1: 20, L2: 'tstm' }, {}, ['L1'], ['L2']],
  ])('%s', (_name, lesions, sizes, qualitative, targets, nonTargets) => {
    const r = roles(lesions, [{ date: B, sizes: sizes ?? {}, qualitative: qualitative ?? {} }]);
    expect(r.targets).toEqual(targets);
    expect(r.nonTargets).toEqual(nonTargets);
    expect(r.newLesions).toEqual([]);
    expect(r.inferred).toBe(true);
  });

  it('a lesion first seen after baseline is new', () => {
    const r = roles({}, [
      { date: B, sizes: { L1: 20 } },
      { date: LATER, sizes: { L1: 20, NEW1: 30 }, qualitative: { NEW2: 'present' } },
    ]);
    expect(r).toEqual({ targets: ['L1'], nonTargets: [], newLesions: ['NEW1', 'NEW2'], inferred: true });
  });
});

describe('assignRoles: explicit', () => {
  it('explicit roles win over size and timing; inferred is false when every lesion has one', () => {
    const r = roles(
      {
        BIG: { role: 'non-target' },
        SMALL: { role: 'target' },
        LATE: { role: 'target' },
        EARLY_NEW: { role: 'new' },
      },
      [
        { date: B, sizes: { BIG: 80, SMALL: 8, EARLY_NEW: 20 } },
        { date: LATER, sizes: { BIG: 80, SMALL: 8, LATE: 12, EARLY_NEW: 20 } },
      ],
    );
    expect(r).toEqual({ targets: ['LATE', 'SMALL'], nonTargets: ['BIG'], newLesions: ['EARLY_NEW'], inferred: false });
  });

  it('explicit targets count towards the 5-lesion and 2-per-organ limits', () => {
    const r = roles(
      {
        T1: { role: 'target', organ: 'liver' },
        T2: { role: 'target', organ: 'lung' },
        T3: { role: 'target', organ: 'lung' },
        A: { organ: 'liver' },
        B: { organ: 'liver' },
        C: { organ: 'lung' },
        D: { organ: 'bone' },
        E: { organ: 'brain' },
        F: { organ: 'skin' },
      },
      [{ date: B, sizes: { T1: 10, T2: 10, T3: 10, A: 50, B: 40, C: 90, D: 30, E: 20, F: 25 } }],
    );
    expect(r.targets).toEqual(['A', 'D', 'T1', 'T2', 'T3']);
    expect(r.nonTargets).toEqual(['B', 'C', 'E', 'F']);
    expect(r.inferred).toBe(true);
  });

  it('assessPatient reports roles-inferred only when it inferred', () => {
    const scans = [
      { date: B, sizes: { L1: 20 } },
      { date: LATER, sizes: { L1: 20 } },
    ];
    expect(
      assess({ doses: [B], scans })
        .issues.map((i) => i.code)
        .includes('roles-inferred'),
    ).toBe(true);
    const explicit = assess({ doses: [B], lesions: { L1: { role: 'target' } }, scans });
    expect(explicit.roles.inferred).toBe(false);
    expect(explicit.issues.map((i) => i.code)).toEqual([]);
  });
});

describe('pickLargest', () => {
  it('does not depend on candidate order', () => {
    const c = ['a', 'b', 'c', 'd'].map((id, i) => ({ lesion: lesion(id, { organ: 'same' }), size: 100 + (i % 2) }));
    const forward = pickLargest(c, 5, 2).map((l) => l.id);
    const backward = pickLargest([...c].reverse(), 5, 2).map((l) => l.id);
    expect(forward).toEqual(['b', 'd']);
    expect(backward).toEqual(forward);
  });
});
