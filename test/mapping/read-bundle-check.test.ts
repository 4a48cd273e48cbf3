/**
 * The hand-written Bundle check (src/mapping/read-bundle.ts isUsableBundle, the fast path for large Bundles) accepts
 * exactly what the zod schema accepts: every variant below is judged by both, and readBundle refuses what either
 * refuses with the schema's message.
 */
import { describe, expect, it } from 'vitest';
import { OutcomeError } from '../../src/fhir-model/outcomes.ts';
import { bundleSchema, isUsableBundle, MAX_ENTRIES, readBundle } from '../../src/mapping/read-bundle.ts';

const good = { resourceType: 'Patient', id: 'p1' };
const bundleOf = (entry: unknown, extra: Record<string, unknown> = {}) => ({
  resourceType: 'Bundle',
  type: 'collection',
  entry,
  ...extra,
});

const variants: [string, unknown][] = [
  ['not an object', 'Bundle'],
  ['null', null],
  ['an array', [good]],
  ['no entry', { resourceType: 'Bundle', type: 'batch' }],
  ['empty entry', bundleOf([])],
  ['other resourceType', { resourceType: 'Patient', type: 'collection' }],
  ['unknown type', bundleOf([], { type: 'document' })],
  ['every type', bundleOf([{ resource: good }], { type: 'history' })],
  ['searchset', bundleOf([{ resource: good }], { type: 'searchset' })],
  ['entry not an array', bundleOf({ resource: good })],
  ['entry null', bundleOf(null)],
  ['an entry not an object', bundleOf([1])],
  ['an entry an array', bundleOf([[good]])],
  ['an entry null', bundleOf([null])],
  ['a plain entry', bundleOf([{ fullUrl: 'urn:uuid:1', resource: good, request: { method: 'PUT', url: 'x' } }])],
  ['extra keys kept', bundleOf([{ resource: { ...good, meta: {} }, search: {} }], { meta: { x: 1 } })],
  ['entry without resource', bundleOf([{ fullUrl: 'urn:uuid:1' }])],
  ['fullUrl a number', bundleOf([{ fullUrl: 5, resource: good }])],
  ['resource null', bundleOf([{ resource: null }])],
  ['resource an array', bundleOf([{ resource: [good] }])],
  ['resourceType missing', bundleOf([{ resource: { id: 'x' } }])],
  ['resourceType lower case', bundleOf([{ resource: { resourceType: 'patient' } }])],
  ['resourceType one letter', bundleOf([{ resource: { resourceType: 'P' } }])],
  ['resourceType 64 letters', bundleOf([{ resource: { resourceType: `P${'a'.repeat(63)}` } }])],
  ['resourceType 65 letters', bundleOf([{ resource: { resourceType: `P${'a'.repeat(64)}` } }])],
  ['resourceType with a digit', bundleOf([{ resource: { resourceType: 'Patient2' } }])],
  ['resourceType a number', bundleOf([{ resource: { resourceType: 7 } }])],
  ['id a number', bundleOf([{ resource: { resourceType: 'Patient', id: 1 } }])],
  ['id with a slash', bundleOf([{ resource: { resourceType: 'Patient', id: 'a/b' } }])],
  ['id empty', bundleOf([{ resource: { resourceType: 'Patient', id: '' } }])],
  ['id 64 characters', bundleOf([{ resource: { resourceType: 'Patient', id: 'a'.repeat(64) } }])],
  ['id 65 characters', bundleOf([{ resource: { resourceType: 'Patient', id: 'a'.repeat(65) } }])],
  ['id null', bundleOf([{ resource: { resourceType: 'Patient', id: null } }])],
  ['request null', bundleOf([{ resource: good, request: null }])],
  ['request a string', bundleOf([{ resource: good, request: 'DELETE' }])],
  ['request method a number', bundleOf([{ resource: good, request: { method: 1 } }])],
  ['request without method', bundleOf([{ resource: good, request: { url: 'Patient/p1' } }])],
  ['one bad entry among good ones', bundleOf([{ resource: good }, { resource: { resourceType: 'x' } }])],
];

describe('the hand-written Bundle check agrees with the schema', () => {
  for (const [name, input] of variants) {
    it(name, () => {
      const accepted = bundleSchema.safeParse(input).success;
      expect(isUsableBundle(input)).toBe(accepted);
      if (accepted) expect(() => readBundle(input)).not.toThrow();
      else expect(() => readBundle(input)).toThrow(OutcomeError);
    });
  }

  it('refuses more than MAX_ENTRIES entries, as the schema does', () => {
    const input = bundleOf(Array.from({ length: MAX_ENTRIES + 1 }, () => ({})));
    expect(bundleSchema.safeParse(input).success).toBe(false);
    expect(isUsableBundle(input)).toBe(false);
  });

  it('gives the schema message when it refuses', () => {
    const error = (() => {
      try {
        readBundle(bundleOf([{ resource: { resourceType: 'Patient', id: 'a/b' } }]));
      } catch (err) {
        return err as OutcomeError;
      }
      return undefined;
    })();
    expect(JSON.stringify(error?.outcome)).toContain('id must be a FHIR id');
  });
});
