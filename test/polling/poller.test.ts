import type { Resource } from '@medplum/fhirtypes';
import { afterEach, beforeEach, describe, expect, expectTypeOf, it, vi } from 'vitest';
import type { AssessPatientJob as IntakeAssessPatientJob } from '../../src/intake/jobs.ts';
import {
  type AssessPatientJob,
  type CheckpointStore,
  createPoller,
  parseCheckpoint,
} from '../../src/polling/poller.ts';
import type { StateStore } from '../../src/queue/state-store.ts';
import { type FakeFhirServer, startFakeFhirServer } from '../registration/fake-fhir-server.ts';

const T0 = Date.parse('2025-03-01T10:00:00.000Z');
const at = (seconds: number): string => new Date(T0 + seconds * 1000).toISOString();
const KEY = 'poller:checkpoint';

const tumorSize = (id: string, patient: string): Resource =>
  ({
    resourceType: 'Observation',
    id,
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '21889-1' }] },
    subject: { reference: `Patient/${patient}` },
  }) as Resource;

class MemoryStore implements CheckpointStore {
  readonly values = new Map<string, string>();
  sets = 0;
  gets = 0;
  async get(key: string): Promise<unknown> {
    this.gets++;
    return this.values.get(key);
  }
  async set(key: string, value: string): Promise<void> {
    this.sets++;
    this.values.set(key, value);
  }
}

describe('createPoller', () => {
  let server: FakeFhirServer;
  let store: MemoryStore;
  let enqueued: AssessPatientJob[][];

  beforeEach(async () => {
    server = await startFakeFhirServer();
    store = new MemoryStore();
    enqueued = [];
  });
  afterEach(async () => {
    await server.close();
  });

  const poller = (overrides: Partial<Parameters<typeof createPoller>[0]> = {}) =>
    createPoller({
      client: server.client(),
      store,
      enqueue: async (jobs) => {
        enqueued.push(jobs);
      },
      intervalMs: 60_000,
      checkpointKey: KEY,
      ...overrides,
    });

  it('first run takes everything, enqueues one job per patient, then stores the newest lastUpdated', async () => {
    server.seed(tumorSize('o1', 'p1'), at(1));
    server.seed(tumorSize('o2', 'p2'), at(2));
    server.seed(tumorSize('o3', 'p1'), at(3));
    const result = await poller().runOnce();
    expect(result.since).toBe('1970-01-01T00:00:00.000Z');
    expect(enqueued).toEqual([
      [
        { kind: 'assess-patient', patientId: 'p1' },
        { kind: 'assess-patient', patientId: 'p2' },
      ],
    ]);
    expect(parseCheckpoint(store.values.get(KEY))?.newest).toBe(at(3));
  });

  it('a second run with no changes enqueues nothing, though it searches the overlap window again', async () => {
    server.seed(tumorSize('o1', 'p1'), at(1));
    const p = poller();
    await p.runOnce();
    const sets = store.sets;
    const second = await p.runOnce();
    expect(second.since).toBe(at(1 - 5));
    expect(second.enqueued).toBe(0);
    expect(enqueued).toHaveLength(1);
    expect(store.sets).toBe(sets);
  });

  it('leaves the checkpoint unchanged when enqueue throws, and the next run enqueues the same patients', async () => {
    server.seed(tumorSize('o1', 'p1'), at(1));
    const p1 = poller();
    await p1.runOnce();
    const before = store.values.get(KEY);

    server.seed(tumorSize('o2', 'p2'), at(10));
    const failing = poller({
      enqueue: async () => {
        throw new Error('queue down');
      },
    });
    await expect(failing.runOnce()).rejects.toThrow('queue down');
    expect(store.values.get(KEY)).toBe(before);

    const again = await poller().runOnce();
    expect(again.patientIds).toEqual(['p2']);
    expect(parseCheckpoint(store.values.get(KEY))?.newest).toBe(at(10));
  });

  it('enqueues in batches; a batch that fails leaves the checkpoint unchanged', async () => {
    for (let i = 0; i < 5; i++) server.seed(tumorSize(`o${i}`, `p${i}`), at(i + 1));
    let calls = 0;
    const failing = poller({
      enqueueBatchSize: 2,
      enqueue: async (jobs) => {
        calls++;
        if (calls === 3) throw new Error('queue full');
        enqueued.push(jobs);
      },
    });
    await expect(failing.runOnce()).rejects.toThrow('queue full');
    expect(enqueued.map((b) => b.length)).toEqual([2, 2]);
    expect(store.values.has(KEY)).toBe(false);

    enqueued = [];
    await poller({ enqueueBatchSize: 2 }).runOnce();
    expect(enqueued.map((b) => b.map((j) => j.patientId))).toEqual([['p0', 'p1'], ['p2', 'p3'], ['p4']]);
    expect(parseCheckpoint(store.values.get(KEY))?.newest).toBe(at(5));
  });

  it('finds a change whose lastUpdated lands just behind the checkpoint (clock skew), within the overlap', async () => {
    server.seed(tumorSize('o1', 'p1'), at(100));
    const p = poller({ overlapMs: 5_000 });
    await p.runOnce();

    // Committed late / written by a node whose clock is behind: lastUpdated before the checkpoint.
    server.seed(tumorSize('late', 'p-late'), at(97));
    server.seed(tumorSize('too-late', 'p-lost'), at(90));
    const result = await p.runOnce();
    expect(result.since).toBe(at(95));
    expect(result.patientIds).toEqual(['p-late']);
    // The checkpoint does not move backwards.
    expect(parseCheckpoint(store.values.get(KEY))?.newest).toBe(at(100));

    // And the late one is not enqueued a second time.
    const third = await p.runOnce();
    expect(third.enqueued).toBe(0);
  });

  it('re-enqueues a resource updated again inside the overlap window', async () => {
    server.seed(tumorSize('o1', 'p1'), at(100));
    const p = poller();
    await p.runOnce();
    server.seed(tumorSize('o1', 'p1'), at(101));
    const result = await p.runOnce();
    expect(result.patientIds).toEqual(['p1']);
  });

  it('without a checkpoint, looks back only initialLookbackMs when given', async () => {
    server.seed(tumorSize('old', 'p-old'), at(-3600));
    server.seed(tumorSize('new', 'p-new'), at(-60));
    const result = await poller({ initialLookbackMs: 600_000, now: () => T0 }).runOnce();
    expect(result.since).toBe(at(-600));
    expect(result.patientIds).toEqual(['p-new']);
  });

  it('does not write a checkpoint when the first run finds nothing', async () => {
    const result = await poller().runOnce();
    expect(result.checkpointWritten).toBe(false);
    expect(store.sets).toBe(0);
  });

  it('start() polls at once and then every interval; stop() ends it', async () => {
    // The poller's timer on a faked clock (its searches are real HTTP): each interval passes when the test says so.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      server.seed(tumorSize('o1', 'p1'), at(1));
      const p = poller({ intervalMs: 3_600_000 });
      p.start();
      await vi.advanceTimersByTimeAsync(0);
      await vi.waitFor(() => expect(enqueued).toHaveLength(1));
      server.seed(tumorSize('o2', 'p2'), at(50));
      await vi.advanceTimersByTimeAsync(3_600_000);
      await vi.waitFor(() => expect(enqueued).toHaveLength(2));
      await p.stop();
      const count = server.requests.length;
      const reads = store.gets;
      await vi.advanceTimersByTimeAsync(10 * 3_600_000);
      expect(store.gets).toBe(reads); // a poll starts by reading the checkpoint: none started
      expect(server.requests.length).toBe(count);
    } finally {
      vi.useRealTimers();
    }
  });

  it.each([
    [undefined, undefined],
    ['', undefined],
    ['not json', undefined],
    ['2025-03-01T10:00:00Z', { newest: '2025-03-01T10:00:00Z', recent: [] }],
    [JSON.stringify({ newest: at(1), recent: ['Observation/a|x'] }), { newest: at(1), recent: ['Observation/a|x'] }],
    [{ newest: at(2) }, { newest: at(2), recent: [] }],
  ])('parseCheckpoint(%j)', (value, expected) => {
    expect(parseCheckpoint(value)).toEqual(expected);
  });
});

describe('fits the other modules (compile-time)', () => {
  it('takes the queue StateStore and emits intake assess-patient jobs', () => {
    expectTypeOf<StateStore>().toExtend<CheckpointStore>();
    expectTypeOf<AssessPatientJob>().toExtend<IntakeAssessPatientJob>();
  });
});
