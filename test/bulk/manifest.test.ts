/** The Bulk Data manifest and kick-off URL, checked before anything is fetched. */
import { describe, expect, it } from 'vitest';
import { kickOffUrl } from '../../src/bulk/export-request.ts';
import { readManifest } from '../../src/bulk/manifest.ts';
import { OutcomeError } from '../../src/fhir-model/outcomes.ts';

const good = {
  transactionTime: '2026-03-01T10:00:00.000Z',
  request: 'https://fhir.example.org/Group/g/$export',
  requiresAccessToken: true,
  output: [{ type: 'Patient', url: 'https://files.example.org/1.ndjson', count: 3 }],
  error: [],
};

describe('readManifest', () => {
  it('reads a manifest, with defaults for what a server may leave out', () => {
    expect(readManifest({ transactionTime: good.transactionTime, request: good.request })).toEqual({
      transactionTime: good.transactionTime,
      request: good.request,
      requiresAccessToken: false,
      output: [],
      error: [],
      deleted: [],
    });
    expect(readManifest(good).output).toEqual(good.output);
  });

  it.each([
    ['not an object', 'hello', '(root)'],
    ['no transactionTime', { ...good, transactionTime: undefined }, 'transactionTime'],
    ['a transactionTime that is not an instant', { ...good, transactionTime: '2026-03-01' }, 'transactionTime'],
    [
      'a file URL that is not http(s)',
      { ...good, output: [{ type: 'Patient', url: 'file:///etc/passwd' }] },
      'output.0.url',
    ],
    [
      'a type that is not a resource type name',
      { ...good, output: [{ type: '../x', url: 'https://a/b' }] },
      'output.0.type',
    ],
    ['a negative count', { ...good, output: [{ type: 'Patient', url: 'https://a/b', count: -1 }] }, 'output.0.count'],
  ])('refuses %s, naming where', (_what, body, where) => {
    const failure = (() => {
      try {
        return readManifest(body);
      } catch (e) {
        return e;
      }
    })();
    expect(failure).toBeInstanceOf(OutcomeError);
    expect((failure as OutcomeError).status).toBe(502);
    expect((failure as OutcomeError).outcome.issue?.[0]).toMatchObject({
      details: { text: 'Bulk Data manifest malformed' },
      expression: [where],
    });
  });
});

describe('kickOffUrl', () => {
  it.each([
    [{ level: { kind: 'system' } }, 'https://fhir.example.org/R4/$export'],
    [
      { level: { kind: 'patient' }, types: ['Patient', 'Observation'] },
      'https://fhir.example.org/R4/Patient/$export?_type=Patient%2CObservation',
    ],
    [
      { level: { kind: 'group', groupId: 'onc-1' }, since: '2026-01-31T00:00:00Z' },
      'https://fhir.example.org/R4/Group/onc-1/$export?_since=2026-01-31T00%3A00%3A00Z',
    ],
  ] as const)('builds %j', (request, url) => {
    expect(kickOffUrl('https://fhir.example.org/R4', request as never)).toBe(url);
  });
});
