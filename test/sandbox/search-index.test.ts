import { matchesSearchRequest, parseSearchRequest } from '@medplum/core';
import type { Provenance } from '@medplum/fhirtypes';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureR4Definitions } from '../../src/sandbox/definitions.ts';
import { CandidateIndex } from '../../src/sandbox/search-index.ts';

const SYSTEMS = ['http://example.org/digest', 'http://Example.org/Digest', 'urn:other', undefined];
const CODES = ['abc', 'ABC', 'def', 'x|y'];

const provenance = (id: string, tags: { system?: string; code?: string }[]): Provenance => ({
  resourceType: 'Provenance',
  id,
  meta: { tag: tags },
  target: [{ reference: 'Patient/p1' }],
  recorded: '2026-02-01T09:00:00Z',
  agent: [{ who: { display: 'test' } }],
});

const tagArb = fc.record(
  { system: fc.constantFrom(...SYSTEMS), code: fc.constantFrom(...CODES) },
  { requiredKeys: [], noNullPrototype: true },
) as fc.Arbitrary<{ system?: string; code?: string }>;
const queryValueArb = fc.oneof(
  fc.constantFrom(...CODES),
  fc
    .tuple(fc.constantFrom('', ...SYSTEMS.filter((s) => s !== undefined)), fc.constantFrom('', ...CODES))
    .map(([system, code]) => `${system}|${code}`),
);

describe('sandbox candidate index: _tag', () => {
  beforeAll(() => ensureR4Definitions());

  it('narrows a _tag search to the resources carrying the tag', () => {
    const index = new CandidateIndex();
    for (let i = 0; i < 50; i++)
      index.set('Provenance', `p${i}`, provenance(`p${i}`, [{ system: 'urn:d', code: `c${i}` }]));
    expect(index.candidates(parseSearchRequest('Provenance?_tag=urn:d|c7'))).toEqual(new Set(['p7']));
    expect(index.candidates(parseSearchRequest('Provenance?_tag=c7,c9'))).toEqual(new Set(['p7', 'p9']));
    // `system|` names every code of the system: left to the scan
    expect(index.candidates(parseSearchRequest('Provenance?_tag=urn:d|'))).toBeUndefined();
    index.set('Provenance', 'p7', provenance('p7', [{ system: 'urn:d', code: 'other' }]));
    expect(index.candidates(parseSearchRequest('Provenance?_tag=urn:d|c7'))).toEqual(new Set());
  });

  it('never leaves out a resource the matcher would find', () => {
    let narrowed = 0;
    fc.assert(
      fc.property(
        fc.array(fc.array(tagArb, { maxLength: 3 }), { minLength: 1, maxLength: 8 }),
        fc.array(queryValueArb, { minLength: 1, maxLength: 2 }),
        (tagLists, values) => {
          const index = new CandidateIndex();
          const resources = tagLists.map((tags, i) => provenance(`r${i}`, tags));
          for (const r of resources) index.set('Provenance', r.id as string, r);
          const request = parseSearchRequest(`Provenance?_tag=${values.map(encodeURIComponent).join(',')}`);
          const candidates = index.candidates(request);
          if (candidates === undefined) return; // not narrowed: the caller scans every resource
          narrowed++;
          for (const r of resources) {
            if (matchesSearchRequest(r, request)) expect(candidates.has(r.id as string)).toBe(true);
          }
        },
      ),
    );
    expect(narrowed).toBeGreaterThan(0);
  });
});
