import { describe, expect, it } from 'vitest';
import { INITIAL_STATE, type IrecistState } from '../../src/domain/irecist.ts';
import { type FlagPriority, flagPriority, patientStatus } from '../../src/domain/status.ts';
import type { PatientStatus, TimepointResponse } from '../../src/domain/types.ts';
import { assess, type ScanSpec, series } from './builders.ts';

const pending: IrecistState = {
  confirmed: false,
  pseudoprogression: false,
  pending: {
    date: '2026-02-16',
    triggers: ['target'],
    sod: 1200,
    targetSizes: new Map([['L1', 1200]]),
    nltSum: 0,
    nltSizes: new Map(),
    newCount: 0,
    ntProgressing: [],
    nlntSizes: new Map(),
    nlntProgressing: [],
  },
};
const confirmed: IrecistState = { confirmed: true, pseudoprogression: false };
const pseudo: IrecistState = { confirmed: false, pseudoprogression: true, newLesionsAtReset: 0 };

describe('patientStatus', () => {
  it.each<[TimepointResponse, IrecistState, string, boolean, PatientStatus]>([
    ['iCR', INITIAL_STATE, 'no history', false, 'responding'],
    ['iPR', INITIAL_STATE, 'no history', false, 'responding'],
    ['iSD', INITIAL_STATE, 'no history', false, 'stable'],
    ['iNN', INITIAL_STATE, 'no history', false, 'stable'],
    ['NE', INITIAL_STATE, 'no history', false, 'not-evaluable'],
    ['iUPD', pending, 'iUPD pending', false, 'possible-pseudoprogression'],
    ['iUPD', pending, 'iUPD pending', true, 'hyperprogression'],
    ['NE', pending, 'iUPD pending', false, 'possible-pseudoprogression'],
    ['iSD', pseudo, 'after a reset', false, 'pseudoprogression'],
    ['iPR', pseudo, 'after a reset', false, 'pseudoprogression'],
    ['iCR', pseudo, 'after a reset', false, 'pseudoprogression'],
    ['iNN', pseudo, 'after a reset', false, 'pseudoprogression'],
    ['NE', pseudo, 'after a reset', false, 'pseudoprogression'],
    ['iCPD', confirmed, 'confirmed', false, 'confirmed-progression'],
    ['iCPD', confirmed, 'confirmed', true, 'hyperprogression'],
  ])('%s (%s, hyperprogression %s) -> %s', (response, state, _history, hyper, status) => {
    expect(patientStatus(response, state, hyper)).toBe(status);
  });
});

describe('flagPriority (contract section 2)', () => {
  it.each<[PatientStatus, FlagPriority | undefined]>([
    ['responding', undefined],
    ['stable', undefined],
    ['not-evaluable', undefined],
    ['possible-pseudoprogression', 'medium'],
    ['pseudoprogression', 'low'],
    ['confirmed-progression', 'high'],
    ['hyperprogression', 'high'],
  ])('%s -> %s', (status, priority) => {
    expect(flagPriority(status)).toBe(priority);
  });
});

describe('status through assessPatient', () => {
  const sod = (total: number): ScanSpec['sizes'] => ({ L1: total - 50, L2: 50 });

  it.each<[string, ScanSpec['sizes'][], string[]]>([
    ['responding', [sod(100), sod(60)], ['responding']],
    ['stable', [sod(100), sod(90)], ['stable']],
    ['not evaluable', [sod(100), { L1: 40 }], ['not-evaluable']],
    ['possible pseudoprogression', [sod(100), sod(130)], ['possible-pseudoprogression']],
    [
      'pseudoprogression stays until the next iUPD',
      [sod(100), sod(130), sod(100), sod(60), sod(60), sod(80)],
      [
        'possible-pseudoprogression',
        'pseudoprogression',
        'pseudoprogression',
        'pseudoprogression',
        'possible-pseudoprogression',
      ],
    ],
    ['confirmed progression', [sod(100), sod(130), sod(140)], ['possible-pseudoprogression', 'confirmed-progression']],
  ])('%s', (_name, sizes, statuses) => {
    const a = assess(series(sizes));
    expect(a.timepoints.map((t) => t.status)).toEqual(statuses);
    expect(a.status).toBe(statuses.at(-1));
  });

  it('no timepoints: no status', () => {
    expect(assess(series([sod(100)])).status).toBeUndefined();
  });
});
