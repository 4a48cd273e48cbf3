import { describe, expect, it } from 'vitest';
import { createInMemoryEventNumberTracker } from '../../src/intake/event-number-tracker.ts';
import { dedupeJobs, type JobIntent } from '../../src/intake/jobs.ts';
import { isFhirId, type ParsedReference, parseReference } from '../../src/intake/references.ts';
import { isKnownResourceType } from '../../src/intake/resource-types.ts';
import { MAX_JSON_DEPTH, parseJsonSafely } from '../../src/intake/safe-json.ts';

describe('parseReference', () => {
  it.each<[string, ParsedReference]>([
    ['Patient/p1', { kind: 'literal', key: { resourceType: 'Patient', id: 'p1' } }],
    ['Patient/p1/_history/3', { kind: 'literal', key: { resourceType: 'Patient', id: 'p1' } }],
    [
      'https://fhir.example.org/fhir/Observation/o.1-A',
      { kind: 'literal', key: { resourceType: 'Observation', id: 'o.1-A' } },
    ],
    [
      'https://fhir.example.org/fhir/Observation/o1/_history/2',
      { kind: 'literal', key: { resourceType: 'Observation', id: 'o1' } },
    ],
    ['urn:uuid:6c1e0f4e-9d55-4f8a-8f0e-3c1f7d1b2a10', { kind: 'other' }],
    ['#contained-1', { kind: 'other' }],
    ['Patient?identifier=http://x|1', { kind: 'other' }],
    ['Observation', { kind: 'other' }],
    ['https://fhir.example.org/fhir', { kind: 'other' }],
    ['Patient/a b', { kind: 'invalid' }],
    ['Patient/..', { kind: 'invalid' }],
    ['Patient/', { kind: 'invalid' }],
    [`Patient/${'x'.repeat(65)}`, { kind: 'invalid' }],
    ['Spaceship/x1', { kind: 'invalid' }],
    ['Constructor/x1', { kind: 'invalid' }],
  ])('%s', (reference, expected) => {
    expect(parseReference(reference)).toEqual(expected);
  });

  it('knows resource types case-sensitively and nothing from Object.prototype', () => {
    expect(isKnownResourceType('Observation')).toBe(true);
    expect(isKnownResourceType('SubscriptionStatus')).toBe(true);
    expect(isKnownResourceType('observation')).toBe(false);
    expect(isKnownResourceType('constructor')).toBe(false);
    expect(isKnownResourceType('__proto__')).toBe(false);
  });

  it.each([
    ['a', true],
    ['A-1.b', true],
    ['x'.repeat(64), true],
    ['x'.repeat(65), false],
    ['', false],
    ['.', false],
    ['a/b', false],
    ['a_b', false],
    ['é', false],
  ])('isFhirId(%j) = %s', (id, ok) => {
    expect(isFhirId(id)).toBe(ok);
  });
});

describe('dedupeJobs', () => {
  it('keeps first-seen order and drops repeats', () => {
    const jobs: JobIntent[] = [
      { kind: 'assess-patient', patientId: 'p1' },
      { kind: 'resolve-resource', resourceType: 'Observation', id: 'o1', deleted: false },
      { kind: 'assess-patient', patientId: 'p1' },
    ];
    expect(dedupeJobs(jobs)).toEqual(jobs.slice(0, 2));
  });

  it('a deleted resolve supersedes a non-deleted one for the same resource', () => {
    expect(
      dedupeJobs([
        { kind: 'resolve-resource', resourceType: 'Observation', id: 'o1', deleted: false },
        { kind: 'resolve-resource', resourceType: 'Observation', id: 'o1', deleted: true },
      ]),
    ).toEqual([{ kind: 'resolve-resource', resourceType: 'Observation', id: 'o1', deleted: true }]);
  });

  it('merges catch-ups of one subscription: strongest reason, lowest start', () => {
    expect(
      dedupeJobs([
        { kind: 'catch-up', reason: 'empty-notification', subscriptionId: 's', sinceEventNumber: 9 },
        { kind: 'catch-up', reason: 'event-gap', subscriptionId: 's', sinceEventNumber: 4 },
        { kind: 'catch-up', reason: 'empty-notification', subscriptionId: 't' },
      ]),
    ).toEqual([
      { kind: 'catch-up', reason: 'event-gap', subscriptionId: 's', sinceEventNumber: 4 },
      { kind: 'catch-up', reason: 'empty-notification', subscriptionId: 't' },
    ]);
  });

  it('a catch-up without a start number absorbs one with a start number', () => {
    expect(
      dedupeJobs([
        { kind: 'catch-up', reason: 'event-gap', subscriptionId: 's', sinceEventNumber: 4 },
        { kind: 'catch-up', reason: 'handshake', subscriptionId: 's' },
      ]),
    ).toEqual([{ kind: 'catch-up', reason: 'event-gap', subscriptionId: 's' }]);
  });
});

describe('parseJsonSafely', () => {
  it('accepts nesting up to the limit', () => {
    const depth = MAX_JSON_DEPTH;
    expect(() => parseJsonSafely(`${'['.repeat(depth)}${']'.repeat(depth)}`)).not.toThrow();
    expect(() => parseJsonSafely(`${'['.repeat(depth + 1)}${']'.repeat(depth + 1)}`)).toThrow('JSON nesting too deep');
  });

  it('reports forbidden keys by path without echoing long keys', () => {
    const longKey = 'k'.repeat(5000);
    try {
      parseJsonSafely(JSON.stringify({ [longKey]: { a: [{ constructor: 1 }] } }));
      expect.unreachable();
    } catch (err) {
      const expression = (err as { outcome: { issue: { expression: string[] }[] } }).outcome.issue[0]?.expression[0];
      expect(expression).toBe(`${'k'.repeat(64)}….a.0.constructor`);
    }
  });
});

describe('createInMemoryEventNumberTracker', () => {
  it('stores per subscription and overwrites', async () => {
    const tracker = createInMemoryEventNumberTracker({ a: 1 });
    expect(await tracker.get('a')).toBe(1);
    expect(await tracker.get('b')).toBeUndefined();
    await tracker.set('a', 0);
    expect(await tracker.get('a')).toBe(0);
    expect(await tracker.get('constructor')).toBeUndefined();
  });
});
