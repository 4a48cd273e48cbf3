/**
 * Change detection without notification help, end to end over HTTP (issue #9 item 2): the service in sandbox mode
 * with a server profile, a case loaded with POST /sandbox/load (which notifies nobody on epic and oracle), and the
 * mode in force finds it: epic by Group `$export` with `_since` (Group `oncology`), oracle by `_lastUpdated` on
 * Observation. Each change queues its patient once; a run with nothing changed queues nothing; /readyz names the mode.
 */

import type { Observation } from '@medplum/fhirtypes';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunningService } from '../../src/service/start-service.ts';
import { caseTransaction, changeCase, loadCase, type TestCase } from './cases.ts';
import { loadIntoSandbox, startTestService, waitFor } from './harness.ts';

const services: RunningService[] = [];
afterAll(async () => {
  for (const s of services) await s.close();
});

/** assess-patient jobs ever queued for the patient (pg-boss keeps completed and failed rows). */
async function jobsFor(service: RunningService, patientId: string): Promise<number> {
  const { rows } = await service.db.query<{ n: string }>(
    `SELECT count(*)::text AS n FROM ${service.db.schema}.job WHERE name = 'assess-patient' AND data->>'patientId' = $1`,
    [patientId],
  );
  return Number(rows[0]?.n ?? 0);
}

async function start(profile: string, env: Record<string, string> = {}): Promise<RunningService> {
  const service = await startTestService({
    database: 'postgres',
    env: { SANDBOX_PROFILE: profile, POLL_INTERVAL_SECONDS: '3600', ...env },
  });
  services.push(service);
  return service;
}

/** The `change-detection` check's detail in /readyz. */
async function readyDetail(service: RunningService): Promise<Record<string, unknown> | undefined> {
  const body = (await (await fetch(`${service.url}/readyz`)).json()) as {
    checks: { name: string; detail?: Record<string, unknown> }[];
  };
  return body.checks.find((c) => c.name === 'change-detection')?.detail;
}

/** The case with its last measurement's longest diameter tripled. */
function grown(tc: TestCase): TestCase {
  const last = tc.resources.filter((r): r is Observation => r.resourceType === 'Observation' && !!r.component).at(-1);
  return changeCase(tc, (r) => {
    const quantity = r.id === last?.id ? (r as Observation).component?.[0]?.valueQuantity : undefined;
    if (quantity?.value !== undefined) quantity.value *= 3;
    return r;
  });
}

/** Runs the detection once (the test drives it; the interval is an hour) and returns the patients it queued. */
const detect = async (service: RunningService): Promise<string[]> =>
  (await service.detection.task.runOnce()).patientIds;

async function changesQueueOnce(service: RunningService, tc: TestCase): Promise<void> {
  // The first run (at start) has stored the checkpoint: nothing before it is queued, what is loaded now is a change.
  await waitFor(async () => (await service.state.get(service.detection.checkpointKey)) !== undefined, 'a checkpoint');
  expect(await detect(service)).toEqual([]);
  await loadIntoSandbox(service.url, caseTransaction(tc));
  expect(await detect(service)).toEqual([tc.patientId]);
  await waitFor(async () => (await jobsFor(service, tc.patientId)) >= 1, `${tc.name} queued`);
  // Runs with nothing changed queue nothing more.
  expect(await detect(service)).toEqual([]);
  // Loaded again unchanged: the server keeps the versions, nothing changed, nothing queued.
  await loadIntoSandbox(service.url, caseTransaction(tc));
  expect(await detect(service)).toEqual([]);
  // A measurement corrected: queued once more.
  await loadIntoSandbox(service.url, caseTransaction(grown(tc)));
  expect(await detect(service)).toEqual([tc.patientId]);
  expect(await detect(service)).toEqual([]);
}

describe('change detection without Subscriptions', () => {
  it('epic: Group $export with _since finds the loaded patient, once per change', { timeout: 60_000 }, async () => {
    const service = await start('epic');
    expect(service.detection.choice).toMatchObject({ mode: 'bulk-export', groupId: 'oncology' });
    expect(await readyDetail(service)).toMatchObject({ mode: 'bulk-export', group: 'Group/oncology' });
    await changesQueueOnce(service, loadCase('responder', 'det-epic'));
    expect(await service.state.get('bulk-export-checkpoint')).toBeTruthy();
  });

  it('oracle: _lastUpdated on Observation finds the loaded patient, once per change', { timeout: 60_000 }, async () => {
    const service = await start('oracle');
    expect(service.detection.choice).toMatchObject({ mode: 'last-updated', types: ['Observation'] });
    expect(await readyDetail(service)).toMatchObject({ mode: 'last-updated' });
    await changesQueueOnce(service, loadCase('responder', 'det-oracle'));
  });

  it('medplum: Subscriptions, the _lastUpdated safety net under them', async () => {
    const service = await start('medplum');
    expect(service.detection.choice.mode).toBe('subscriptions');
    expect(service.detection.safetyNet?.mode).toBe('last-updated');
    expect(await readyDetail(service)).toMatchObject({ mode: 'subscriptions', safetyNet: 'last-updated' });
  });

  it('watch list (epic without a Group): a known patient is searched by its date parameters, queued when changed', {
    timeout: 60_000,
  }, async () => {
    const service = await start('epic', { CHANGE_DETECTION: 'watch-list' });
    expect(service.detection.choice).toMatchObject({ mode: 'watch-list' });
    const tc = loadCase('responder', 'det-watch');
    await loadIntoSandbox(service.url, caseTransaction(tc));
    // Nothing tells the adapter of the patient until something queues it (here a notification naming the Patient).
    expect(await detect(service)).toEqual([]);
    const res = await fetch(`${service.url}/notifications`, {
      method: 'POST',
      headers: { authorization: `Bearer ${service.config.webhook.secret}`, 'content-type': 'application/fhir+json' },
      body: JSON.stringify({ resourceType: 'Patient', id: tc.patientId }),
    });
    expect(res.status).toBe(200);
    await waitFor(async () => JSON.stringify(await service.state.get('watch-list')).includes(tc.patientId), 'known');
    expect(await detect(service)).toEqual([]); // the first look takes the fingerprint
    expect(await detect(service)).toEqual([]);
    await loadIntoSandbox(service.url, caseTransaction(grown(tc)));
    expect(await detect(service)).toEqual([tc.patientId]);
    expect(await detect(service)).toEqual([]);
    const searched = service.detection.choice.types.sort();
    expect(searched).toEqual(['ImagingStudy', 'MedicationAdministration', 'Observation']);
  });
});
