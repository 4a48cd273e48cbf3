/**
 * The two intake guards on their own, with a hand-driven clock: the replay guard (src/intake/replay-guard.ts) keeps
 * its memory bounded by count and by time, and the refusal log (src/intake/refusal-log.ts) writes one warn line per
 * kind per window however many refusals come. Their behaviour over HTTP is in hostile-clients.test.ts.
 */
import { describe, expect, it } from 'vitest';
import {
  createUnverifiedDeleteLimit,
  UNVERIFIED_DELETE_WINDOW_MS,
  UNVERIFIED_DELETES_PER_WINDOW,
} from '../../src/intake/legacy-medplum-delete.ts';
import { createRefusalLog } from '../../src/intake/refusal-log.ts';
import { createReplayGuard, deliveryKey, REPLAY_MAX_ENTRIES, REPLAY_WINDOW_MS } from '../../src/intake/replay-guard.ts';
import type { Logger } from '../../src/logging.ts';

describe('replay guard', () => {
  it('a key is claimed once per window; a released key can be claimed again', () => {
    let now = 0;
    const guard = createReplayGuard({ now: () => now });
    expect(guard.claim('a')).toBe(true);
    expect(guard.claim('a')).toBe(false);
    expect(guard.claim('b')).toBe(true);
    guard.release('b');
    expect(guard.claim('b')).toBe(true);
    now += REPLAY_WINDOW_MS - 1;
    expect(guard.claim('a')).toBe(false);
    now += 1;
    expect(guard.claim('a')).toBe(true);
  });

  it('memory is bounded: at most the maximum of keys, the oldest forgotten first, expired ones dropped', () => {
    let now = 0;
    const guard = createReplayGuard({ now: () => now });
    for (let i = 0; i < REPLAY_MAX_ENTRIES + 5_000; i++) {
      guard.claim(`k${i}`);
      now += 1;
    }
    expect(guard.size()).toBe(REPLAY_MAX_ENTRIES);
    expect(guard.claim(`k${REPLAY_MAX_ENTRIES + 4_999}`)).toBe(false); // the newest is remembered
    expect(guard.claim('k0')).toBe(true); // the oldest was let go (and is now claimed afresh)
    now += REPLAY_WINDOW_MS;
    guard.claim('late');
    expect(guard.size()).toBe(1);
  });

  it('the key covers the exact bytes and what they were read to mean', () => {
    const body = Buffer.from('{}');
    const deleteOf = (id: string) => [{ kind: 'resolve-resource', resourceType: 'Observation', id, deleted: true }];
    expect(deliveryKey(body, deleteOf('a'))).toBe(deliveryKey(Buffer.from('{}'), deleteOf('a')));
    expect(deliveryKey(body, deleteOf('a'))).not.toBe(deliveryKey(body, deleteOf('b')));
    expect(deliveryKey(body, deleteOf('a'))).not.toBe(deliveryKey(Buffer.from('{} '), deleteOf('a')));
  });
});

describe('refusal log', () => {
  function fakeLogger() {
    const lines: { level: 'warn' | 'debug'; fields: Record<string, unknown>; message: string }[] = [];
    const log = {
      warn: (fields: Record<string, unknown>, message: string) => lines.push({ level: 'warn', fields, message }),
      debug: (fields: Record<string, unknown>, message: string) => lines.push({ level: 'debug', fields, message }),
    } as unknown as Logger;
    return { log, lines };
  }

  it('a thousand refusals in a window: one warn line; the next window says how many were held back', () => {
    let now = 0;
    const { log, lines } = fakeLogger();
    const refuse = createRefusalLog(log, { windowMs: 10_000, now: () => now });
    for (let i = 0; i < 1_000; i++) refuse({ status: 401, code: 'security' }, 'Notification rejected');
    expect(lines.filter((l) => l.level === 'warn')).toEqual([
      { level: 'warn', fields: { status: 401, code: 'security' }, message: 'Notification rejected' },
    ]);
    expect(lines.filter((l) => l.level === 'debug')).toHaveLength(999);
    now += 10_000;
    refuse({ status: 401, code: 'security' }, 'Notification rejected');
    expect(lines.at(-1)).toEqual({
      level: 'warn',
      fields: { status: 401, code: 'security', heldBack: 999 },
      message: 'Notification rejected',
    });
  });

  it('each kind of refusal has its own window', () => {
    const { log, lines } = fakeLogger();
    const refuse = createRefusalLog(log, { now: () => 0 });
    refuse({ status: 401, code: 'security' }, 'Notification rejected');
    refuse({ status: 413, code: 'too-costly' }, 'Notification rejected');
    refuse({ status: 400, code: 'invalid' }, 'Notification rejected');
    refuse({ status: 401, code: 'security' }, 'Notification rejected');
    expect(lines.filter((l) => l.level === 'warn').map((l) => l.fields.status)).toEqual([401, 413, 400]);
  });
});

describe('unverified delete limit', () => {
  it("lets the window's share through, refuses the rest, and starts again with the next window", () => {
    let now = 0;
    const limit = createUnverifiedDeleteLimit(() => now);
    const taken = Array.from({ length: UNVERIFIED_DELETES_PER_WINDOW + 10 }, () => limit.take());
    expect(taken.filter(Boolean)).toHaveLength(UNVERIFIED_DELETES_PER_WINDOW);
    expect(taken.at(-1)).toBe(false);
    now += UNVERIFIED_DELETE_WINDOW_MS;
    expect(limit.take()).toBe(true);
  });
});
