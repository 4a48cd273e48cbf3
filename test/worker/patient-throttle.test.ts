import { describe, expect, it } from 'vitest';
import { createPatientThrottle } from '../../src/worker/patient-throttle.ts';

describe('createPatientThrottle', () => {
  it('never delays a first assessment, delays the next one until the window has passed', () => {
    let t = 10_000;
    const throttle = createPatientThrottle(1000, () => t);
    expect(throttle.delayFor('p1')).toBe(0);
    throttle.started('p1');
    t += 10;
    expect(throttle.delayFor('p1')).toBe(990);
    expect(throttle.delayFor('p2')).toBe(0);
    t += 990;
    expect(throttle.delayFor('p1')).toBe(0);
  });

  it('is off with a window of 0', () => {
    const throttle = createPatientThrottle(0);
    throttle.started('p1');
    expect(throttle.delayFor('p1')).toBe(0);
  });

  it('forgets patients whose window has passed once it holds many', () => {
    let t = 0;
    const throttle = createPatientThrottle(1000, () => t);
    for (let i = 0; i < 10_001; i++) throttle.started(`old-${i}`);
    t = 5_000;
    throttle.started('new');
    for (let i = 0; i < 10_001; i += 1000) expect(throttle.delayFor(`old-${i}`)).toBe(0);
    expect(throttle.delayFor('new')).toBe(1000);
  });
});
