/**
 * POST /sandbox/load: a transaction or collection Bundle stored as the hospital's own systems would, whatever the
 * profile restricts through the FHIR API; all or nothing; notifying like any write; the Group `oncology` of every
 * patient loaded kept where the profile offers Group $export.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Json, SandboxHarness } from './harness.ts';
import { startSandbox, startSubscriber, subscription } from './harness.ts';

const SAMPLES = join(import.meta.dirname, '../../samples');
const sample = (kind: 'cases' | 'transactions', name: string): Json =>
  JSON.parse(readFileSync(join(SAMPLES, kind, `${name}.${kind === 'cases' ? 'bundle' : 'transaction'}.json`), 'utf8'));

const open: SandboxHarness[] = [];
afterEach(async () => {
  for (const h of open.splice(0)) await h.close();
});
async function sandbox(profile?: 'epic' | 'oracle' | 'medplum'): Promise<SandboxHarness> {
  const h = await startSandbox(profile ? { profile } : {});
  open.push(h);
  return h;
}

const flag = (id: string) => ({
  resourceType: 'Flag',
  id,
  status: 'active',
  code: { text: 'clinician flag' },
  subject: { reference: 'Patient/p1' },
});

describe('POST /sandbox/load', () => {
  it.each(['cases', 'transactions'] as const)('stores a sample (%s Bundle) on the epic profile', async (kind) => {
    const h = await sandbox('epic');
    const bundle = sample(kind, 'pseudoprogression');
    const res = await h.load(bundle);
    expect(res.status).toBe(200);
    expect(res.body.type).toBe('transaction-response');
    expect(res.body.entry).toHaveLength(bundle.entry.length);
    expect(res.body.entry.every((e: Json) => /^20[01]/.test(e.response.status))).toBe(true);
    const observations = await h.fhir('GET', 'Observation?subject=Patient/pseudoprogression&_count=100');
    expect(observations.body.entry.length).toBe(
      bundle.entry.filter((e: Json) => e.resource.resourceType === 'Observation').length,
    );
  });

  it('stores what the profile refuses through the API (a Flag on epic and on oracle)', async () => {
    for (const profile of ['epic', 'oracle'] as const) {
      const h = await sandbox(profile);
      expect((await h.fhir('POST', 'Flag', flag('f1'))).status, profile).not.toBeLessThan(400);
      const res = await h.load({ resourceType: 'Bundle', type: 'collection', entry: [{ resource: flag('f1') }] });
      expect(res.status, profile).toBe(200);
      expect(
        h.sandbox.repo.listCurrent('Flag').map((f) => f.id),
        profile,
      ).toEqual(['f1']);
    }
  });

  it('loading the same Bundle twice changes nothing', async () => {
    const h = await sandbox('epic');
    const bundle = sample('cases', 'responder');
    await h.load(bundle);
    const versions = h.sandbox.repo.listCurrent('Observation').map((o) => o.meta?.versionId);
    const again = await h.load(bundle);
    expect(again.status).toBe(200);
    expect(h.sandbox.repo.listCurrent('Observation').map((o) => o.meta?.versionId)).toEqual(versions);
    expect(again.body.entry.every((e: Json) => e.response.outcome?.issue?.[0]?.details?.text === 'Unchanged')).toBe(
      true,
    );
  });

  it('is all or nothing: one invalid entry stores nothing and answers its OperationOutcome', async () => {
    const h = await sandbox('epic');
    const res = await h.load({
      resourceType: 'Bundle',
      type: 'collection',
      entry: [
        { resource: flag('f1') },
        { resource: { resourceType: 'Observation', id: 'o1', status: 'no-such-status' } },
      ],
    });
    expect(res.status).toBe(400);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(h.sandbox.repo.countResources()).toBe(0);
  });

  it.each([
    ['not a Bundle', { resourceType: 'Patient' }, 400, 'Request body must be a Bundle'],
    [
      'a batch',
      { resourceType: 'Bundle', type: 'batch', entry: [] },
      400,
      'Bundle type must be transaction or collection',
    ],
    [
      'a searchset',
      { resourceType: 'Bundle', type: 'searchset' },
      400,
      'Bundle type must be transaction or collection',
    ],
    [
      'an entry without a resource',
      { resourceType: 'Bundle', type: 'collection', entry: [{}] },
      400,
      'Collection entry without a resource',
    ],
    ['malformed JSON', '{"resourceType": "Bundle",', 400, 'Malformed request body'],
  ])('refuses %s with a clear OperationOutcome', async (_what, body, status, text) => {
    const h = await sandbox();
    const res = await h.load(body);
    expect(res.status).toBe(status);
    expect(res.body.issue[0].details.text).toBe(text);
  });

  it('refuses a body that is not FHIR JSON (415)', async () => {
    const h = await sandbox();
    const res = await h.load('<Bundle/>', { 'content-type': 'application/xml' });
    expect(res.status).toBe(415);
  });

  it('keeps the Group oncology of every patient loaded where the profile offers Group $export (epic)', async () => {
    const h = await sandbox('epic');
    await h.load(sample('cases', 'responder'));
    await h.load(sample('transactions', 'pseudoprogression'));
    await h.load(sample('cases', 'responder'));
    const group = await h.fhir('GET', 'Group/oncology');
    expect(group.status).toBe(200);
    expect(group.body.member.map((m: Json) => m.entity.reference)).toEqual([
      'Patient/responder',
      'Patient/pseudoprogression',
    ]);
    expect(group.body.meta.versionId).toBe(h.sandbox.repo.currentVersionId('Group', 'oncology'));
    expect(h.sandbox.repo.listCurrent('Group')).toHaveLength(1);
  });

  it.each(['medplum', 'oracle'] as const)('keeps no Group on the %s profile', async (profile) => {
    const h = await sandbox(profile);
    await h.load(sample('cases', 'responder'));
    expect(h.sandbox.repo.listCurrent('Group')).toEqual([]);
  });

  it('notifies Subscriptions like any write (medplum profile)', async () => {
    const h = await sandbox('medplum');
    const subscriber = await startSubscriber();
    try {
      await h.fhir('POST', 'Subscription', subscription(subscriber.url, 'ImagingStudy'));
      const bundle = sample('cases', 'responder');
      await h.load(bundle);
      await h.sandbox.waitForIdle();
      const studies = bundle.entry.filter((e: Json) => e.resource.resourceType === 'ImagingStudy').length;
      expect(studies).toBeGreaterThan(0);
      expect(subscriber.received).toHaveLength(studies);
      expect(subscriber.received.every((n) => n.body.resourceType === 'ImagingStudy')).toBe(true);
    } finally {
      await subscriber.close();
    }
  });
});
