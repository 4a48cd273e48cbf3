/**
 * What a backfill shows on stderr while it runs: on a terminal, a progress bar of the patients (done / total, rate,
 * time left) redrawn in place; otherwise (a log file, CI) one line every few seconds with the same figures, so a
 * redirected stderr is not filled with redraws. Notes about the export come as lines in both cases. Counts only, never
 * patient data.
 */
import cliProgress from 'cli-progress';
import type { PatientCounts } from './backfill-store.ts';
import type { BackfillEvents } from './run-backfill.ts';

export interface ProgressReport extends BackfillEvents {
  /** Stops the bar (before the summary is written). */
  stop(): void;
}

export interface ProgressOptions {
  /** Draw a bar (stderr is a terminal). */
  readonly tty: boolean;
  readonly write: (text: string) => void;
  /** Lines without a terminal: at most one per this many ms (default 5,000). */
  readonly intervalMs?: number;
  readonly now?: () => number;
}

const finished = (c: PatientCounts): number => c.done + c.gone + c.failed;
const totalOf = (c: PatientCounts): number => finished(c) + c.pending;

/**
 * Formats seconds as `1h02m`, `3m05s` or `42s`.
 * @param seconds - A duration.
 * @returns The short text.
 */
export function shortDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}

/**
 * The progress report of one backfill.
 * @param options - Terminal or not, where to write, the clock.
 * @returns The events to give runBackfill, and stop.
 */
export function progressReport(options: ProgressOptions): ProgressReport {
  const now = options.now ?? Date.now;
  const intervalMs = options.intervalMs ?? 5_000;
  let bar: cliProgress.SingleBar | undefined;
  let startedAt = now();
  let doneAtStart = 0;
  let lastLine = 0;
  let lastStaged = 0;

  const figures = (c: PatientCounts): { rate: number; eta: number } => {
    const seconds = (now() - startedAt) / 1000;
    const rate = seconds > 0 ? (finished(c) - doneAtStart) / seconds : 0;
    return { rate, eta: rate > 0 ? c.pending / rate : Number.POSITIVE_INFINITY };
  };
  const line = (c: PatientCounts): string => {
    const { rate, eta } = figures(c);
    const failed = c.failed > 0 ? `, ${c.failed} failed` : '';
    return `backfill: ${finished(c)}/${totalOf(c)} patients${failed}, ${rate.toFixed(1)}/s, ${shortDuration(eta)} left\n`;
  };

  return {
    note(text) {
      bar?.stop();
      bar = undefined;
      options.write(`backfill: ${text}\n`);
    },
    staged(count) {
      if (now() - lastStaged < intervalMs) return;
      lastStaged = now();
      options.write(`backfill: ${count} resources staged\n`);
    },
    started(counts) {
      startedAt = now();
      doneAtStart = finished(counts);
      options.write(`backfill: ${totalOf(counts)} patients, ${doneAtStart} already done\n`);
      if (!options.tty) return;
      bar = new cliProgress.SingleBar(
        {
          stream: process.stderr,
          format: 'backfill [{bar}] {value}/{total} patients | {rate}/s | {left} left',
          hideCursor: true,
          fps: 5,
        },
        cliProgress.Presets.shades_classic,
      );
      bar.start(totalOf(counts), doneAtStart, { rate: '0.0', left: '?' });
    },
    progressed(counts) {
      if (bar) {
        const { rate, eta } = figures(counts);
        bar.update(finished(counts), { rate: rate.toFixed(1), left: shortDuration(eta) });
        return;
      }
      if (now() - lastLine < intervalMs && counts.pending > 0) return;
      lastLine = now();
      options.write(line(counts));
    },
    stop() {
      bar?.stop();
      bar = undefined;
    },
  };
}
