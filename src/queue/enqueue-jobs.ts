/**
 * Enqueue: validate a call's jobs (all or nothing), give each its start time and priority, and hand them to the group
 * commit (group-commit.ts), which inserts the jobs of every waiting call in one transaction through pg-boss's insert.
 * https://pgboss.io/api/jobs
 */
import type { PgBoss } from 'pg-boss';
import { OutcomeError, zodIssuesToOutcome } from '../fhir-model/outcomes.ts';
import type { Database } from './database.ts';
import type { FairShare } from './fair-share.ts';
import type { InsertAll, PlannedJob } from './group-commit.ts';
import { type JobKind, type JobRequest, parseJobRequest } from './jobs.ts';

export interface EnqueueOptions {
  /**
   * Do not start the jobs before this many milliseconds from now (they still coalesce with later ones); a function
   * gives each job its own delay.
   */
  startAfterMs?: number | ((job: JobRequest) => number);
  /** Who asked (e.g. a FHIR server's subscription): jobs are ordered fairly across senders (fair-share.ts). */
  sender?: string;
  /** Runs before jobs of lower priority (default 0); added to the sender's fair-share priority when both are given. */
  priority?: number;
}

/**
 * Validates the jobs and plans their rows: one per kind and key (the first one of a call), with start and priority.
 * @param jobs - The call's jobs.
 * @param options - Delays, sender, priority.
 * @param fairShare - The per-sender counter.
 * @returns The jobs to insert.
 * @throws OutcomeError 400 listing every invalid job (nothing of the call is queued).
 */
export function planJobs(jobs: readonly JobRequest[], options: EnqueueOptions, fairShare: FairShare): PlannedJob[] {
  const planned: PlannedJob[] = [];
  const seen = new Set<string>();
  const issues: { path: PropertyKey[]; message: string }[] = [];
  const now = Date.now();
  jobs.forEach((job, index) => {
    const parsed = parseJobRequest(job);
    if (!parsed.ok) {
      issues.push(...parsed.issues.map((issue) => ({ ...issue, path: [index, ...issue.path] })));
      return;
    }
    if (seen.has(`${parsed.kind}|${parsed.key}`)) return;
    seen.add(`${parsed.kind}|${parsed.key}`);
    const delay = typeof options.startAfterMs === 'function' ? options.startAfterMs(job) : (options.startAfterMs ?? 0);
    planned.push({
      kind: parsed.kind,
      key: parsed.key,
      data: parsed.payload,
      ...(delay > 0 ? { startAfter: new Date(now + delay) } : {}),
    });
  });
  if (issues.length) throw new OutcomeError(zodIssuesToOutcome(issues, 'Invalid job'));
  const fair = options.sender === undefined ? undefined : fairShare.priorities(options.sender, planned.length);
  planned.forEach((job, i) => {
    const priority = Math.round((options.priority ?? 0) + (fair?.[i] ?? 0));
    if (priority !== 0) job.priority = priority;
  });
  return planned;
}

/**
 * The group commit's insert: one pg-boss insert per kind; several kinds in one transaction.
 * @param boss - pg-boss.
 * @param db - The database (its transactions).
 * @param onCommitted - Told, once the rows are committed, how many runnable jobs (no start in the future) each kind
 *   gained (local-wake.ts).
 * @returns The insert.
 */
export function insertWithBoss(
  boss: PgBoss,
  db: Database,
  onCommitted?: (runnable: ReadonlyMap<JobKind, number>) => void,
): InsertAll {
  return async (rows) => {
    const inserted = new Set<string>();
    const runnable = new Map<JobKind, number>();
    const insertKinds = async (executeSql?: (text: string, values?: unknown[]) => Promise<{ rows: unknown[] }>) => {
      for (const [kind, kindRows] of rows) {
        const ids = new Set(
          (await boss.insert(kind, kindRows, {
            returnId: true,
            ...(executeSql ? { db: { executeSql } } : {}),
          })) ?? [],
        );
        for (const id of ids) inserted.add(id);
        const now = Date.now();
        const due = kindRows.filter((row) => ids.has(row.id) && (row.startAfter?.getTime() ?? 0) <= now).length;
        if (due > 0) runnable.set(kind, due);
      }
    };
    if (rows.size <= 1) await insertKinds();
    else await db.transaction((tx) => insertKinds((text, values) => tx.query(text, values)));
    if (runnable.size > 0) onCommitted?.(runnable);
    return inserted;
  };
}
