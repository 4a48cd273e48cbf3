/**
 * The notification side of the kill drills: a seeded random source (CHAOS_SEED overrides it), a burst of Medplum-style
 * notifications for many patients, delivered the way a FHIR server delivers them (refused or unanswered ones are sent
 * again until they are accepted), and the wait for the queue to go quiet, read from outside through /readyz.
 */
import type { Resource } from '@medplum/fhirtypes';
import { storedResources, type TestCase } from '../e2e/cases.ts';
import { medplumNotification, type Notification, notify, type SandboxServer } from '../e2e/harness.ts';

/** The drill's seed: CHAOS_SEED when set, else a fresh one (printed by the caller so a failure can be re-run). */
export function chaosSeed(): number {
  const given = process.env.CHAOS_SEED;
  if (given !== undefined && given.trim() !== '') {
    const seed = Number(given);
    if (!Number.isSafeInteger(seed)) throw new Error(`CHAOS_SEED must be an integer, got ${given}`);
    return seed;
  }
  return Math.floor(Math.random() * 2 ** 31);
}

/** mulberry32: a deterministic random source in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const pick = <T>(items: readonly T[], random: () => number): T =>
  items[Math.floor(random() * items.length)] as T;

export interface PatientNotification {
  patientId: string;
  notification: Notification;
}

/**
 * `perPatient` notifications for each case, each about one of its stored resources picked at random (so some come
 * twice, as a server's retries do), the whole list shuffled.
 */
export async function notificationBurst(
  fhir: SandboxServer,
  cases: readonly TestCase[],
  perPatient: number,
  random: () => number,
): Promise<PatientNotification[]> {
  const out: PatientNotification[] = [];
  for (const tc of cases) {
    const stored: Resource[] = await storedResources(fhir.repo, tc);
    for (let i = 0; i < perPatient; i++) {
      const resource = pick(stored, random);
      out.push({
        patientId: tc.patientId,
        notification: medplumNotification(resource, random() < 0.5 ? 'create' : 'update'),
      });
    }
  }
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as PatientNotification, out[i] as PatientNotification];
  }
  return out;
}

export interface DeliveryStats {
  /** Notifications accepted (200). */
  accepted: number;
  /** Attempts that failed (connection refused or reset, no answer, or an answer below) and were sent again. */
  resent: number;
  /** Of those, the ones an adapter answered with 5xx or 429 (a live adapter that could not queue them). */
  refused: number;
}

/**
 * Sends one notification until an adapter accepts it: `target()` names where to send each attempt (undefined: none is
 * up, wait). A connection failure or a 5xx/429 is retried; any other refusal fails the drill.
 */
export async function deliver(
  notification: Notification,
  target: () => string | undefined,
  stats: DeliveryStats,
  deadlineMs = 120_000,
): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const url = target();
    if (url) {
      try {
        const res = await notify(url, notification);
        const text = await res.text();
        if (res.status === 200) {
          stats.accepted++;
          return;
        }
        if (res.status < 500 && res.status !== 429) throw new Error(`notification refused: ${res.status} ${text}`);
        stats.refused++;
      } catch (err) {
        if ((err as Error).message.startsWith('notification refused')) throw err;
        // Reset, refused or unanswered: the adapter is down or going down. Send it again, as a FHIR server would.
      }
      stats.resent++;
    }
    if (Date.now() > deadline) throw new Error('a notification was never accepted');
    await new Promise((r) => setTimeout(r, 100 + Math.random() * 100));
  }
}

/**
 * Sends the items spread out in time (item i not before `i * spacingMs` from the start), at most `concurrency`
 * at once, so a burst is still arriving when the adapters are killed.
 */
export async function pacedBurst<T>(
  items: readonly T[],
  options: { spacingMs: number; concurrency: number },
  send: (item: T, index: number) => Promise<void>,
): Promise<void> {
  const started = performance.now();
  let next = 0;
  const runners = Array.from({ length: Math.min(options.concurrency, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      const wait = started + index * options.spacingMs - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      await send(items[index] as T, index);
    }
  });
  await Promise.all(runners);
}

export interface Backlog {
  queued: number;
  active: number;
  deadLettered: number;
}

/** The backlog as /readyz reports it (undefined when the adapter does not answer). */
export async function readBacklog(adapterUrl: string): Promise<Backlog | undefined> {
  try {
    const res = await fetch(`${adapterUrl}/readyz`, { signal: AbortSignal.timeout(5_000) });
    const body = (await res.json()) as { checks?: { name: string; detail?: Backlog }[] };
    return body.checks?.find((c) => c.name === 'backlog')?.detail;
  } catch {
    return undefined;
  }
}

/**
 * Waits until the adapter's /readyz shows nothing queued (retries and delayed jobs included) and nothing running,
 * several reads in a row; returns how long that took (ms) and the last backlog.
 */
export async function waitForQuietBacklog(adapterUrl: () => string, timeoutMs: number): Promise<Backlog> {
  const deadline = Date.now() + timeoutMs;
  let quietRounds = 0;
  let last: Backlog | undefined;
  while (Date.now() < deadline) {
    last = await readBacklog(adapterUrl());
    quietRounds = last && last.queued + last.active === 0 ? quietRounds + 1 : 0;
    if (quietRounds >= 3 && last) return last;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`the queue did not go quiet in ${timeoutMs} ms (last backlog ${JSON.stringify(last)})`);
}
