/** Runs bench/intake-load.ts as a child process and returns its JSON result (it is killed if it overruns). */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LoadResult, OpenLoopOptions, OpenLoopResult } from './intake-load.ts';
import { onAbort } from './run-control.ts';

const running = new Set<ChildProcess>();
onAbort(() => {
  for (const child of running) child.kill();
});

async function runChild<T>(options: object, deadlineMs: number): Promise<T> {
  const child = spawn(process.execPath, [fileURLToPath(new URL('./intake-load.ts', import.meta.url))], {
    env: { ...process.env, BENCH_INTAKE: JSON.stringify({ ...options, deadlineMs }) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  running.add(child);
  let out = '';
  child.stdout?.on('data', (c: Buffer) => {
    out += c.toString('utf8');
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('exit', resolve);
      timer = setTimeout(() => {
        child.kill();
        reject(new Error(`intake load: no result within ${deadlineMs + 15_000} ms`));
      }, deadlineMs + 15_000);
    });
    if (code !== 0) throw new Error(`intake load exited with ${code}`);
    return JSON.parse(out.trim().split('\n').at(-1) as string) as T;
  } finally {
    clearTimeout(timer);
    running.delete(child);
  }
}

/** Open loop: `rate` notifications per second for `durationMs`; see bench/intake-load.ts. */
export function openLoopLoad(options: Omit<OpenLoopOptions, 'deadlineMs'>): Promise<OpenLoopResult> {
  return runChild<OpenLoopResult>(options, options.durationMs + 30_000);
}

/** Closed loop: `warmup + count` notifications, `concurrency` in flight; see bench/intake-load.ts. */
export function closedLoopLoad(
  options: {
    url: string;
    secret: string;
    subscriptionId: string;
    count: number;
    warmup: number;
    concurrency: number;
    patientPrefix: string;
  },
  deadlineMs: number,
): Promise<LoadResult> {
  return runChild<LoadResult>(options, deadlineMs);
}
