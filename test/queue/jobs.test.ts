import { describe, expect, it } from 'vitest';
import { jobKey, parseJobRequest } from '../../src/queue/jobs.ts';

describe('parseJobRequest: payloads name only FHIR ids (one rule, fhir-model/ids.ts)', () => {
  it.each([
    [{ kind: 'assess-patient', patientId: 'p-1.a' }, true],
    [{ kind: 'assess-patient', patientId: '..' }, false],
    [{ kind: 'assess-patient', patientId: '.' }, false],
    [{ kind: 'assess-patient', patientId: 'a/b' }, false],
    [{ kind: 'resolve-resource', resourceType: 'Observation', id: 'o1', deleted: false }, true],
    [{ kind: 'resolve-resource', resourceType: 'Observation', id: '..', deleted: true }, false],
    [{ kind: 'resolve-resource', resourceType: 'observation', id: 'o1', deleted: false }, false],
    [{ kind: 'catch-up', reason: 'poll', subscriptionId: 's1' }, true],
    [{ kind: 'catch-up', reason: 'poll', subscriptionId: '..' }, false],
  ])('%j -> %s', (request, ok) => {
    expect(parseJobRequest(request).ok).toBe(ok);
  });

  it('keys a valid request with jobKey', () => {
    const request = { kind: 'resolve-resource', resourceType: 'Observation', id: 'o1', deleted: true } as const;
    expect(parseJobRequest(request)).toMatchObject({ ok: true, key: jobKey(request) });
    expect(jobKey(request)).toBe('Observation/o1/deleted');
  });
});
