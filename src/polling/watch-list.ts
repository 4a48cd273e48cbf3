/**
 * Change detection by watch list (issue #9 item 2), for a server with no Subscriptions, no `_lastUpdated` and no Group
 * `$export`: the patients the adapter knows (every patient ever queued for an assessment, by whatever way) are searched
 * each interval by the `date` parameters the server lists (Observation `date`, ImagingStudy `started`,
 * MedicationAdministration `effective-time`) over the last WATCH_WINDOW_DAYS, plus a read of the Patient. A patient
 * whose fingerprint (ids, versions and last-updated instants of what was found) changed is queued.
 *
 * Not seen: a change to a resource dated before the window, and a resource deleted from the window is seen only as a
 * changed fingerprint (which is enough to reassess). Bounded: at most MAX_PATIENTS known patients (oldest dropped).
 */
import { createHash } from 'node:crypto';
import type { MedplumClient } from '@medplum/core';
import type { Resource, ResourceType } from '@medplum/fhirtypes';
import { searchPages } from '../fhir/search-pages.ts';
import { isAdapterWritten } from '../fhir-model/resource-owner.ts';
import { logger } from '../logging.ts';
import { createPeriodicTask } from '../util/periodic-task.ts';
import type { AssessPatientJob, CheckpointStore } from './poller.ts';

const log = logger.child({ component: 'watch-list' });

/** How far back the date searches look (a treatment course with its baseline). */
export const WATCH_WINDOW_DAYS = 3 * 365;
const MAX_PATIENTS = 10_000;
/** The state key of the watch list: `{ patients: { [id]: fingerprint | "" } }`. */
export const WATCH_LIST_KEY = 'watch-list';

type Fingerprints = Record<string, string>;

async function readList(store: CheckpointStore): Promise<Fingerprints> {
  const value = await store.get(WATCH_LIST_KEY);
  const parsed = typeof value === 'string' ? (JSON.parse(value) as unknown) : value;
  const patients = (parsed as { patients?: unknown } | undefined)?.patients;
  return patients && typeof patients === 'object' ? { ...(patients as Fingerprints) } : {};
}

const writeList = (store: CheckpointStore, patients: Fingerprints): Promise<void> =>
  store.set(WATCH_LIST_KEY, JSON.stringify({ patients }));

export interface WatchListOptions {
  client: MedplumClient;
  store: CheckpointStore;
  /** Input type -> its date parameter, as listed by the server. */
  dateParams: Readonly<Record<string, string>>;
  /** Input type -> how its search names the patient. */
  patientParam: Readonly<Record<string, 'patient' | 'subject'>>;
  enqueue: (jobs: AssessPatientJob[]) => Promise<void>;
  intervalMs: number;
  now?: () => number;
}

/** The watch list: `remember` adds patients (serialised in this process), the task polls them. */
export function createWatchList(options: WatchListOptions) {
  const now = options.now ?? Date.now;
  let chain: Promise<unknown> = Promise.resolve();
  const serial = <T>(work: () => Promise<T>): Promise<T> => {
    const next = chain.then(work, work);
    chain = next.catch(() => undefined);
    return next;
  };

  /** Adds patients to the watch list (their fingerprint is taken at the next run). */
  const remember = (patientIds: readonly string[]): Promise<void> =>
    serial(async () => {
      const list = await readList(options.store);
      const fresh = patientIds.filter((id) => !(id in list));
      if (fresh.length === 0) return;
      for (const id of fresh) list[id] = '';
      const ids = Object.keys(list);
      for (const id of ids.slice(0, Math.max(0, ids.length - MAX_PATIENTS))) delete list[id];
      await writeList(options.store, list);
    });

  async function fingerprint(patientId: string): Promise<string> {
    const keys: string[] = [];
    const from = new Date(now() - WATCH_WINDOW_DAYS * 86_400_000).toISOString().slice(0, 10);
    for (const [type, dateParam] of Object.entries(options.dateParams)) {
      const by = options.patientParam[type];
      if (!by) continue;
      const query = new URLSearchParams({ [by]: `Patient/${patientId}`, [dateParam]: `ge${from}`, _count: '200' });
      for await (const page of searchPages(options.client, type as ResourceType, query)) {
        // The adapter's own results are not inputs: writing them must not look like a change.
        for (const r of page as Resource[])
          if (!isAdapterWritten(r)) keys.push(`${r.resourceType}/${r.id}|${r.meta?.versionId}|${r.meta?.lastUpdated}`);
      }
    }
    const patient = await options.client
      .readResource('Patient', patientId, { cache: 'no-cache' })
      .catch(() => undefined);
    keys.push(`Patient/${patientId}|${patient?.meta?.versionId}|${patient?.meta?.lastUpdated}`);
    return createHash('sha256').update(keys.sort().join('\n')).digest('hex');
  }

  async function run(): Promise<{ patientIds: string[] }> {
    const known = await serial(() => readList(options.store));
    const changed: string[] = [];
    const prints: Fingerprints = {};
    for (const [id, previous] of Object.entries(known)) {
      prints[id] = await fingerprint(id);
      if (previous && previous !== prints[id]) changed.push(id);
    }
    const jobs = changed.map((patientId): AssessPatientJob => ({ kind: 'assess-patient', patientId }));
    if (jobs.length) await options.enqueue(jobs);
    // Only now, with the jobs queued, keep the new fingerprints (patients remembered meanwhile stay listed).
    await serial(async () => {
      const list = await readList(options.store);
      for (const [id, print] of Object.entries(prints)) if (id in list) list[id] = print;
      await writeList(options.store, list);
    });
    if (jobs.length)
      log.info({ patients: jobs.length, watched: Object.keys(known).length }, 'Watch list found changes');
    return { patientIds: changed };
  }

  const task = createPeriodicTask(run, options.intervalMs, (err) => {
    log.error({ errorName: (err as Error)?.name }, 'Watch list run failed; retrying next interval');
  });
  return { ...task, remember };
}
