/**
 * How a benchmark process is run: a hard stop (after `seconds`, on Ctrl-C or when bench/all.ts sends SIGTERM, run
 * the registered cleanups, e.g. drop the schema, then exit), knobs from the environment, and the hand-off of a
 * machine-readable result to bench/all.ts.
 */
const cleanups: (() => Promise<void> | void)[] = [];

/** Work to do before the process exits early (best effort, at most 10 s in all). */
export function onAbort(cleanup: () => Promise<void> | void): void {
  cleanups.push(cleanup);
}

export function say(text: string): void {
  process.stderr.write(`[${(performance.now() / 1000).toFixed(1)}s] ${text}\n`);
}

function abort(why: string, code: number): void {
  say(`${why}; stopping`);
  setTimeout(() => process.exit(code), 10_000).unref();
  Promise.allSettled(cleanups.map(async (c) => c())).finally(() => process.exit(code));
}

/** Exits with code 2 after `seconds` (0 = no limit); exits on SIGINT and SIGTERM. */
export function installDeadline(seconds: number): void {
  if (seconds > 0) setTimeout(() => abort(`deadline of ${seconds}s reached`, 2), seconds * 1000).unref();
  process.once('SIGINT', () => abort('interrupted', 130));
  process.once('SIGTERM', () => abort('terminated', 143));
  // A failure anywhere (a top-level await too) still drops the schema and stops the children.
  process.once('uncaughtException', (err) =>
    abort(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`, 1),
  );
  process.once('unhandledRejection', (err) =>
    abort(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`, 1),
  );
}

/** An integer from the environment, clamped; `fallback` when unset or not a number. */
export function envInt(name: string, fallback: number, min: number, max: number): number {
  const v = Number.parseFloat(process.env[name] ?? '');
  return Number.isFinite(v) ? Math.min(max, Math.max(min, Math.round(v))) : fallback;
}

export const quickMode = (): boolean => process.env.BENCH_QUICK === '1' || process.argv.includes('--quick');

/** Writes a benchmark's machine-readable result where bench/all.ts asked for it (BENCH_RESULT_JSON). */
export async function writeResultJson(result: unknown): Promise<void> {
  const path = process.env.BENCH_RESULT_JSON;
  if (!path) return;
  const { writeFileSync } = await import('node:fs');
  writeFileSync(path, JSON.stringify(result, null, 2));
}
