import { describe, expect, it } from 'vitest';
import { createInMemoryEventNumberTracker } from '../../src/intake/event-number-tracker.ts';
import { dedupeJobs, type JobIntent } from '../../src/intake/jobs.ts';

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
