/**
 * The backfill's progress on stderr without a terminal: a line at the start, then at most one line per interval with
 * patients done / total, the rate and the time left, and always the last one; export notes as lines; counts only.
 */
import { describe, expect, it } from 'vitest';
import { progressReport, shortDuration } from '../../src/backfill/progress-report.ts';

const counts = (done: number, pending: number, failed = 0) => ({ pending, done, gone: 0, failed });

describe('progressReport (no terminal)', () => {
  it('writes the total, then a line per interval with rate and time left, and the last one', () => {
    let now = 0;
    const lines: string[] = [];
    const report = progressReport({ tty: false, write: (t) => void lines.push(t), intervalMs: 5_000, now: () => now });
    report.started(counts(10, 90));
    expect(lines).toEqual(['backfill: 100 patients, 10 already done\n']);

    now = 1_000;
    report.progressed(counts(11, 89)); // within the interval of the start: no line
    now = 10_000;
    report.progressed(counts(30, 70)); // 20 patients in 10 s: 2/s, 70 left = 35 s
    now = 11_000;
    report.progressed(counts(31, 69)); // too soon
    now = 12_000;
    report.progressed(counts(99, 0, 1)); // the last one is always written
    expect(lines.slice(1)).toEqual([
      'backfill: 30/100 patients, 2.0/s, 35s left\n',
      'backfill: 100/100 patients, 1 failed, 7.5/s, 0s left\n',
    ]);
  });

  it('says where the export is, and staged counts at most once per interval', () => {
    let now = 0;
    const lines: string[] = [];
    const report = progressReport({ tty: false, write: (t) => void lines.push(t), intervalMs: 5_000, now: () => now });
    report.note('export kicked off');
    now = 6_000;
    report.staged(500);
    now = 7_000;
    report.staged(1000);
    expect(lines).toEqual(['backfill: export kicked off\n', 'backfill: 500 resources staged\n']);
  });
});

describe('shortDuration', () => {
  it.each([
    [0, '0s'],
    [42.4, '42s'],
    [185, '3m05s'],
    [3_720, '1h02m'],
    [Number.POSITIVE_INFINITY, '?'],
  ])('%s s is %s', (seconds, text) => {
    expect(shortDuration(seconds)).toBe(text);
  });
});
