/**
 * The chart Flag (contract section 2): at most one active; a superseded one set inactive with period.end (never
 * deleted, If-Match on the version read); a Flag a clinician set inactive is not reactivated for the same state.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Bundle, BundleEntry, Flag } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { IDENTIFIER_SYSTEM } from '../../src/codes.ts';
import { assessBundle } from '../../src/pipeline/assess-resources.ts';

const CASES = join(import.meta.dirname, '../../samples/cases');
const load = (name: string): Bundle => JSON.parse(readFileSync(join(CASES, `${name}.bundle.json`), 'utf8')) as Bundle;
const flagsOf = (tx: Bundle): BundleEntry<Flag>[] =>
  (tx.entry ?? []).filter((e): e is BundleEntry<Flag> => e.resource?.resourceType === 'Flag');
const NOW = '2026-11-24T00:00:00Z';

/** The bundle plus resources as they would come back from the server (ids, versions). */
function withExisting(bundle: Bundle, existing: Flag[]): Bundle {
  return { ...bundle, entry: [...(bundle.entry ?? []), ...existing.map((resource) => ({ resource }))] };
}

/** The Flag the adapter writes for a case, as the server would store it. */
function storedFlag(name: string, changes: Partial<Flag> = {}): Flag {
  const wanted = flagsOf(assessBundle(load(name), { now: NOW }).transaction)[0]!.resource!;
  return { ...wanted, id: 'flag-1', meta: { ...wanted.meta, versionId: '7' }, ...changes };
}

describe('the chart Flag', () => {
  it('a new flagged state is created once (POST with If-None-Exist on its identifier)', () => {
    const [entry, ...rest] = flagsOf(assessBundle(load('pseudoprogression'), { now: NOW }).transaction);
    expect(rest).toEqual([]);
    expect(entry?.request?.method).toBe('POST');
    expect(entry?.request?.ifNoneExist).toBe(
      `identifier=${encodeURIComponent(`${IDENTIFIER_SYSTEM}|pseudoprogression/flag/pseudoprogression/2026-04-20`)}`,
    );
  });

  it('the same Flag already active and unchanged is not written again', () => {
    const existing = storedFlag('pseudoprogression');
    const result = assessBundle(withExisting(load('pseudoprogression'), [existing]), { now: NOW });
    expect(flagsOf(result.transaction)).toEqual([]);
  });

  it('a Flag a clinician set inactive is not reactivated for the same state, and the reason is given', () => {
    const existing = storedFlag('pseudoprogression', { status: 'inactive' });
    const result = assessBundle(withExisting(load('pseudoprogression'), [existing]), { now: NOW });
    expect(flagsOf(result.transaction)).toEqual([]);
    expect(result.notes).toEqual(['The Flag for this state was set inactive in the chart; it is not reactivated.']);
  });

  it('a superseded active Flag is set inactive with period.end and If-Match, never deleted', () => {
    // An earlier "possible pseudoprogression" Flag is still active; the status is now pseudoprogression.
    const earlier = storedFlag('pseudoprogression', {
      id: 'old-flag',
      identifier: [
        { system: IDENTIFIER_SYSTEM, value: 'pseudoprogression/flag/possible-pseudoprogression/2026-03-09' },
      ],
      period: { start: '2026-03-09' },
    });
    const flags = flagsOf(assessBundle(withExisting(load('pseudoprogression'), [earlier]), { now: NOW }).transaction);
    expect(flags.map((e) => [e.request?.method, e.request?.url, e.resource?.status])).toEqual([
      ['POST', 'Flag', 'active'],
      ['PUT', 'Flag/old-flag', 'inactive'],
    ]);
    const superseded = flags[1]!;
    expect(superseded.request?.ifMatch).toBe('W/"7"');
    expect(superseded.resource?.period).toEqual({ start: '2026-03-09', end: '2026-06-15' });
    expect(
      (assessBundle(load('pseudoprogression'), { now: NOW }).transaction.entry ?? []).some(
        (e) => e.request?.method === 'DELETE',
      ),
    ).toBe(false);
  });

  it('when the status is no longer flagged, the active Flag is set inactive and none replaces it', () => {
    const earlier = storedFlag('pseudoprogression', {
      id: 'old-flag',
      identifier: [{ system: IDENTIFIER_SYSTEM, value: 'responder/flag/possible-pseudoprogression/2026-03-09' }],
      subject: { reference: 'Patient/responder' },
    });
    const flags = flagsOf(assessBundle(withExisting(load('responder'), [earlier]), { now: NOW }).transaction);
    expect(flags.map((e) => [e.request?.url, e.resource?.status])).toEqual([['Flag/old-flag', 'inactive']]);
  });
});
