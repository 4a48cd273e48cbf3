/** The write decisions (reconcile-writes.ts), pure: what is created, updated, left alone, retracted and not written. */
import type { BundleEntry, Resource } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { IDENTIFIER_SYSTEM } from '../../src/codes.ts';
import type { Capabilities } from '../../src/fhir/capabilities.ts';
import { withDigest } from '../../src/fhir/ownership.ts';
import { reconcileWrites } from '../../src/fhir/reconcile-writes.ts';
import { planWrites } from '../../src/fhir/write-plan.ts';

const all = ['read', 'search-type', 'create', 'update'];
const caps = (types: Record<string, string[]>): Pick<Capabilities, 'transaction' | 'batch' | 'types'> => ({
  transaction: false,
  batch: false,
  types: Object.fromEntries(
    Object.entries(types).map(([t, interactions]) => [
      t,
      { interactions, conditionalCreate: false, conditionalUpdate: false, searchParams: ['subject'] },
    ]),
  ),
});
const id = (value: string) => [{ system: IDENTIFIER_SYSTEM, value }];
const OBS = 'urn:uuid:00000000-0000-4000-8000-000000000001';
const DR = 'urn:uuid:00000000-0000-4000-8000-000000000002';

const obs = (status = 'final'): Resource =>
  ({
    resourceType: 'Observation',
    identifier: id('p/timepoint-response/2026-03-01'),
    status,
    code: { text: 'r' },
    valueCodeableConcept: { text: 'iSD' },
  }) as Resource;
const rendered: BundleEntry[] = [
  { fullUrl: OBS, resource: obs(), request: { method: 'PUT', url: 'Observation?identifier=x' } },
  {
    fullUrl: DR,
    resource: {
      resourceType: 'DiagnosticReport',
      identifier: id('p/report/2026-03-01'),
      status: 'final',
      code: { text: 'r' },
      result: [{ reference: OBS }],
    },
    request: { method: 'PUT', url: 'DiagnosticReport?identifier=x' },
  },
  {
    fullUrl: 'urn:uuid:00000000-0000-4000-8000-000000000003',
    resource: {
      resourceType: 'Flag',
      identifier: id('p/flag/confirmed-progression/2026-03-01'),
      status: 'active',
      code: { text: 'f' },
      subject: { reference: 'Patient/p' },
      extension: [{ url: 'https://x/flag-detail', valueReference: { reference: DR } }],
    },
    request: { method: 'POST', url: 'Flag' },
  },
];
const stored = (r: Resource, n: string): Resource => ({
  ...withDigest(r),
  id: n,
  meta: { ...withDigest(r).meta, versionId: '1' },
});

describe('reconcileWrites', () => {
  it('creates what is new; a type the server cannot create is not written and nothing refers to it', () => {
    const plan = planWrites(caps({ Observation: all, DiagnosticReport: ['read', 'search-type'], Flag: all }));
    const out = reconcileWrites(rendered, [], plan, new Set());
    expect(out.entries.map((e) => `${e.request?.method} ${e.request?.url}`)).toEqual(['POST Observation', 'POST Flag']);
    expect(out.skipped).toEqual([{ type: 'DiagnosticReport', reason: 'not-writable' }]);
    // The Flag's flag-detail named the report that is not written: removed, not left dangling.
    expect((out.entries[1]?.resource as { extension?: unknown[] } | undefined)?.extension).toEqual([]);
    expect(out.keys).toEqual([
      'Observation|p/timepoint-response/2026-03-01',
      'Flag|p/flag/confirmed-progression/2026-03-01',
    ]);
  });

  it('leaves what is as wanted, and refers to it by id', () => {
    const plan = planWrites(caps({ Observation: all, DiagnosticReport: all }));
    const out = reconcileWrites(rendered.slice(0, 2), [stored(obs(), 'o1')], plan, new Set());
    expect(out.unchanged).toBe(1);
    expect(out.entries).toHaveLength(1);
    expect(
      (out.entries[0]?.resource as { result?: { reference?: string }[] } | undefined)?.result?.[0]?.reference,
    ).toBe('Observation/o1');
  });

  it("updates its own with If-Match; leaves others' changes and deletions alone", () => {
    const plan = planWrites(caps({ Observation: all, DiagnosticReport: all }));
    const mine = stored({ ...obs(), valueCodeableConcept: { text: 'iPR' } } as Resource, 'o1');
    const updated = reconcileWrites(rendered.slice(0, 1), [mine], plan, new Set());
    expect(updated.entries[0]?.request).toEqual({ method: 'PUT', url: 'Observation/o1', ifMatch: 'W/"1"' });
    const theirs = { ...mine, status: 'amended' } as Resource;
    const left = reconcileWrites(rendered.slice(0, 1), [theirs], plan, new Set());
    expect(left.entries).toEqual([]);
    expect(left.skipped).toEqual([{ type: 'Observation', reason: 'changed-by-others' }]);
    const deleted = reconcileWrites(
      rendered.slice(0, 1),
      [],
      plan,
      new Set(['Observation|p/timepoint-response/2026-03-01']),
    );
    expect(deleted.entries).toEqual([]);
    expect(deleted.skipped).toEqual([{ type: 'Observation', reason: 'deleted-by-others' }]);
  });

  it('retracts its own outputs of a timepoint that no longer exists, without their result profile', () => {
    const plan = planWrites(caps({ Observation: all }));
    const gone = stored(
      { ...obs(), identifier: id('p/timepoint-response/2026-01-01'), meta: { profile: ['https://x/p'] } } as Resource,
      'o9',
    );
    const out = reconcileWrites([], [gone], plan, new Set());
    expect(out.retracted).toBe(1);
    expect(out.entries[0]?.request).toEqual({ method: 'PUT', url: 'Observation/o9', ifMatch: 'W/"1"' });
    expect(out.entries[0]?.resource).toMatchObject({ status: 'entered-in-error' });
    expect(out.entries[0]?.resource?.meta?.profile).toBeUndefined();
  });
});
