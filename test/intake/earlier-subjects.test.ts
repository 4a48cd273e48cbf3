/**
 * A Medplum-style update notification of a resource about a patient also asks for its earlier subjects (issue #11
 * item 3): the resource may have been moved from another patient, who is then reassessed from its `_history`.
 */
import { describe, expect, it } from 'vitest';
import { createInMemoryEventNumberTracker } from '../../src/intake/event-number-tracker.ts';
import { type NotificationRequest, parseNotification } from '../../src/intake/parse-notification.ts';
import { jobKey } from '../../src/queue/jobs.ts';

function medplum(body: unknown, interaction: string): NotificationRequest {
  return {
    method: 'POST',
    params: {},
    headers: { 'x-medplum-interaction': interaction },
    rawBody: Buffer.from(JSON.stringify(body)),
    contentType: 'application/fhir+json',
  };
}

const observation = {
  resourceType: 'Observation',
  id: 'm1',
  status: 'final',
  code: { text: 'size' },
  subject: { reference: 'Patient/b' },
};

describe('earlier subjects of an updated resource', () => {
  it('an update queues the current subject and a look at the earlier ones', async () => {
    const parsed = await parseNotification(medplum(observation, 'update'), createInMemoryEventNumberTracker());
    expect(parsed.jobs).toEqual([
      { kind: 'assess-patient', patientId: 'b' },
      { kind: 'resolve-resource', resourceType: 'Observation', id: 'm1', deleted: false, earlierSubjects: true },
    ]);
    // Its own queue key: never folded into a plain resolve of the same resource.
    expect(jobKey(parsed.jobs[1] as never)).toBe('Observation/m1/earlier');
  });

  it('a create, a Patient and the adapter’s own results queue no such look', async () => {
    const tracker = createInMemoryEventNumberTracker();
    expect((await parseNotification(medplum(observation, 'create'), tracker)).jobs).toHaveLength(1);
    const patient = { resourceType: 'Patient', id: 'b' };
    expect((await parseNotification(medplum(patient, 'update'), tracker)).jobs).toHaveLength(1);
    const own = { ...observation, identifier: [{ system: 'https://irecist-adapter.dev/fhir/identifier', value: 'x' }] };
    expect((await parseNotification(medplum(own, 'update'), tracker)).jobs).toEqual([]);
  });
});
