import { describe, expect, it } from 'vitest';
import { createFairShare } from '../../src/queue/fair-share.ts';

describe('fair ordering across senders', () => {
  it("gives a sender's jobs falling priorities, and another sender's first job the top one", () => {
    const fair = createFairShare(60_000, () => 0);
    expect(fair.priorities('flood', 4)).toEqual([0, -1, -2, -3]);
    expect(fair.priorities('flood', 2)).toEqual([-4, -5]);
    expect(fair.priorities('quiet', 1)).toEqual([0]);
    expect(fair.priorities('quiet', 2)).toEqual([-1, -2]);
  });

  it('starts a sender again from the top once it has been idle for the window', () => {
    let t = 0;
    const fair = createFairShare(1_000, () => t);
    fair.priorities('s', 10);
    t = 999;
    expect(fair.priorities('s', 1)).toEqual([-10]);
    t = 1_999;
    expect(fair.priorities('s', 1)).toEqual([0]);
  });

  it('bounds the lowest priority', () => {
    const fair = createFairShare(60_000, () => 0);
    fair.priorities('s', 1_000_005);
    expect(fair.priorities('s', 2)).toEqual([-1_000_000, -1_000_000]);
  });
});
