/**
 * The change detection in force (issue #9 item 2, issue #11 item 5): the mode chosen from the CapabilityStatement
 * (detection-mode.ts), its periodic task, and the catch-up at start-up from the checkpoint stored in the database.
 *
 * - Subscriptions: the safety net is the mode the server would have without them (usually `_lastUpdated`), run at
 *   start-up and every POLL_INTERVAL_SECONDS (default DEFAULT_SAFETY_NET_SECONDS; 0 = at start-up only).
 * - Other modes: the mode itself, at start-up and every detection interval.
 * The first start of a new database stores a checkpoint (FIRST_LOOKBACK_MS back), so from then on nothing is lost.
 */
import type { MedplumClient } from '@medplum/core';
import type { CapabilityStatement } from '@medplum/fhirtypes';
import type { BulkClient } from '../bulk/bulk-client.ts';
import type { DetectionMode } from '../config/change-detection.ts';
import { logger } from '../logging.ts';
import type { ReadinessCheck } from '../server/health-routes.ts';
import { createPeriodicTask, type PeriodicTask } from '../util/periodic-task.ts';
import { createBulkExportWatch } from './bulk-export-watch.ts';
import { chooseDetectionMode, DETECTED_TYPES, type DetectionChoice, detectionCapabilities } from './detection-mode.ts';
import { type AssessPatientJob, type CheckpointStore, createPoller } from './poller.ts';
import { createWatchList, WATCH_LIST_KEY } from './watch-list.ts';

/** What every detection task answers: the patients it queued. */
export type DetectionTask = PeriodicTask<{ patientIds: string[] }>;

export const LAST_UPDATED_CHECKPOINT_KEY = 'poll-checkpoint';
export const BULK_CHECKPOINT_KEY = 'bulk-export-checkpoint';
/** The first checkpoint lies this far back: changes of the last week before the first start are found too. */
export const FIRST_LOOKBACK_MS = 7 * 86_400_000;

export interface ChangeDetectionDeps {
  client: MedplumClient;
  /** The server's CapabilityStatement; undefined when it could not be read (then `_lastUpdated` on every type). */
  capabilityStatement: CapabilityStatement | undefined;
  /** CHANGE_DETECTION. */
  configured?: DetectionMode;
  /** Whether the adapter registers Subscriptions here (the sandbox, or SUBSCRIBE on). */
  subscribes: boolean;
  /** BULK_GROUP_ID (sandbox: `oncology`). */
  groupId?: string;
  /** Bulk Data client factory (only called in bulk-export mode). */
  bulk: () => BulkClient;
  store: CheckpointStore;
  enqueue: (jobs: AssessPatientJob[]) => Promise<void>;
  /** POLL_INTERVAL_SECONDS: the safety net under Subscriptions (0 = at start-up only). */
  safetyNetSeconds: number;
  /** How often a mode other than Subscriptions runs. */
  detectionSeconds: number;
}

export interface ChangeDetection {
  /** The mode in force and why. */
  choice: DetectionChoice;
  /** Under Subscriptions: the mode polled as the safety net. */
  safetyNet?: DetectionChoice;
  /** The task that runs (the mode, or the safety net): catch-up jobs run it too. */
  task: DetectionTask;
  /** The state key of the task's checkpoint. */
  checkpointKey: string;
  /** Seconds between runs; 0 = at start-up only. */
  intervalSeconds: number;
  /** Patients the watch list should know (every patient queued); a no-op in other modes. */
  remember(patientIds: readonly string[]): Promise<void>;
  /**
   * Stores the first checkpoint when the database has none (awaited before the service takes data, so nothing arriving
   * after start-up falls before it); on a later start runs the catch-up from the checkpoint at once; then each interval.
   */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** The `change-detection` check of /readyz: the mode, why, the interval and the last run. */
  readiness: ReadinessCheck;
  /** One line for the start-up log. */
  describe(): Record<string, unknown>;
}

const EVERY_TYPE_CAPS = {
  restHook: false,
  lastUpdatedTypes: DETECTED_TYPES,
  groupExport: false,
  dateParams: {},
  patientParam: {},
};

function taskFor(choice: DetectionChoice, deps: ChangeDetectionDeps, intervalMs: number, caps = EVERY_TYPE_CAPS) {
  const common = { store: deps.store, enqueue: deps.enqueue, intervalMs };
  if (choice.mode === 'bulk-export' && choice.groupId) {
    const watch = createBulkExportWatch({
      ...common,
      bulk: deps.bulk(),
      groupId: choice.groupId,
      types: choice.types,
      checkpointKey: BULK_CHECKPOINT_KEY,
    });
    return { task: watch as DetectionTask, remember: async () => undefined, checkpointKey: BULK_CHECKPOINT_KEY };
  }
  if (choice.mode === 'watch-list') {
    const list = createWatchList({
      ...common,
      client: deps.client,
      dateParams: caps.dateParams,
      patientParam: caps.patientParam,
    });
    return { task: list as DetectionTask, remember: list.remember, checkpointKey: WATCH_LIST_KEY };
  }
  const poller = createPoller({
    ...common,
    client: deps.client,
    checkpointKey: LAST_UPDATED_CHECKPOINT_KEY,
    checkpointAtFirstStart: true,
    findOptions: { types: choice.types },
  });
  return { task: poller as DetectionTask, remember: async () => undefined, checkpointKey: LAST_UPDATED_CHECKPOINT_KEY };
}

/**
 * Chooses the mode and builds its task (not started).
 * @param deps - The client, CapabilityStatement, settings, checkpoint store and enqueue.
 * @returns The change detection.
 */
export function createChangeDetection(deps: ChangeDetectionDeps): ChangeDetection {
  const caps = deps.capabilityStatement ? detectionCapabilities(deps.capabilityStatement) : EVERY_TYPE_CAPS;
  const settings = { subscribes: deps.subscribes, ...(deps.groupId ? { groupId: deps.groupId } : {}) };
  const choice = chooseDetectionMode(caps, {
    ...settings,
    ...(deps.configured ? { configured: deps.configured } : {}),
  });
  const safetyNet =
    choice.mode === 'subscriptions' ? chooseDetectionMode(caps, { ...settings, subscribes: false }) : undefined;
  const intervalSeconds = safetyNet ? deps.safetyNetSeconds : deps.detectionSeconds;
  const { task, remember, checkpointKey } = taskFor(
    safetyNet ?? choice,
    deps,
    Math.max(1, intervalSeconds) * 1000,
    caps,
  );
  let last: { at: string; patients: number } | { at: string; failed: true } | undefined;
  const runAndRecord = async () => {
    try {
      const result = await task.runOnce();
      last = { at: new Date().toISOString(), patients: result.patientIds.length };
      return result;
    } catch (err) {
      last = { at: new Date().toISOString(), failed: true };
      throw err;
    }
  };
  const describe = () => ({
    mode: choice.mode,
    reason: choice.reason,
    ...(choice.groupId ? { group: `Group/${choice.groupId}` } : {}),
    ...(safetyNet ? { safetyNet: intervalSeconds > 0 ? safetyNet.mode : 'start-up only' } : {}),
    intervalSeconds,
  });
  const periodic = createPeriodicTask(runAndRecord, Math.max(1, intervalSeconds) * 1000, (err) =>
    logger.error({ errorName: (err as Error)?.name, mode: (safetyNet ?? choice).mode }, 'change detection run failed'),
  );
  return {
    choice,
    ...(safetyNet ? { safetyNet } : {}),
    task: periodic,
    checkpointKey,
    intervalSeconds,
    remember,
    async start() {
      const firstStart = checkpointKey !== WATCH_LIST_KEY && (await deps.store.get(checkpointKey)) === undefined;
      if (firstStart) {
        const from = new Date(Date.now() - FIRST_LOOKBACK_MS).toISOString();
        const first = checkpointKey === BULK_CHECKPOINT_KEY ? { transactionTime: from } : { newest: from, recent: [] };
        await deps.store.set(checkpointKey, JSON.stringify(first));
        logger.info({ mode: (safetyNet ?? choice).mode }, 'First start: change-detection checkpoint created');
      }
      // Every later start begins with the catch-up from the stored checkpoint; the first waits an interval.
      if (intervalSeconds > 0) periodic.start(firstStart ? intervalSeconds * 1000 : 0);
      else if (!firstStart) void periodic.runOnce().catch(() => undefined);
    },
    stop: () => periodic.stop(),
    readiness: {
      name: 'change-detection',
      // Informational: a failed run is retried at the next interval and does not make the service unready.
      check: async () => ({ ok: true, detail: { ...describe(), ...(last ? { lastRun: last } : {}) } }),
    },
    describe,
  };
}
