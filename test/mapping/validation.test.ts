/**
 * Everything the pipeline writes for every sample case, for a full server and for one that takes no Flag,
 * DiagnosticReport or Provenance (DocumentReferences instead), is valid FHIR R4 and conforms to the profile it claims
 * (test/support/fhir-validation/validate.ts: base R4 with its invariants, our profiles and extensions, locally
 * checkable required bindings).
 */
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { beforeAll, describe, expect, it } from 'vitest';
import { MCODE, PROFILE } from '../../src/codes.ts';
import type { RenderedOutputs } from '../../src/mapping/rendered-outputs.ts';
import { assessBundle } from '../../src/pipeline/assess-resources.ts';
import { caseNames, readCase } from '../cli/case-check.ts';
import { indexDefinitions, validateWritten } from '../support/fhir-validation/validate.ts';
import { bundle, smallPatient } from './builders.ts';

const NOW = '2026-07-01T00:00:00.000Z';
const errors = (r: Resource): [string, string | undefined, string | undefined, string | undefined][] =>
  validateWritten(r)
    .filter((i: OperationOutcomeIssue) => i.severity === 'error' || i.severity === 'fatal')
    .map((i) => [i.code, i.expression?.[0], i.details?.text, i.diagnostics]);

const EPIC: RenderedOutputs = { flag: false, diagnosticReport: false, documentReference: true, provenance: false };

const written = (input: unknown, outputs?: RenderedOutputs) =>
  (assessBundle(input, { now: NOW, outputs }).transaction.entry ?? []).map((e) => e.resource as Resource);

/** The profiles a written resource must claim. */
function profilesOf(r: Resource): string[] | undefined {
  switch (r.resourceType) {
    case 'DiagnosticReport':
      return [PROFILE.report];
    case 'DocumentReference':
      return [PROFILE.reportDocument];
    case 'Flag':
      return [PROFILE.flag];
    case 'Observation':
      return r.code?.coding?.[0]?.code === MCODE.code.code
        ? [PROFILE.diseaseStatus, MCODE.cancerDiseaseStatusProfile]
        : [PROFILE.timepointResponse];
    default:
      return undefined;
  }
}

beforeAll(() => indexDefinitions(), 60_000);

describe.each(caseNames())('%s', (name) => {
  const resources = written(readCase(name).bundle);
  const epic = written(readCase(name).bundle, EPIC);

  it('writes reports, timepoint and disease-status Observations and a Provenance', () => {
    const types = new Set(resources.map((r) => r.resourceType));
    expect(types).toContain('DiagnosticReport');
    expect(types).toContain('Observation');
    expect(types).toContain('Provenance');
    expect(resources.filter((r) => profilesOf(r)?.[0] === PROFILE.diseaseStatus).length).toBeGreaterThan(0);
  });

  it.each([
    ...resources.map((r, i) => [`${i} ${r.resourceType}`, r] as const),
    ...epic.map((r, i) => [`${i} ${r.resourceType} (no Flag, DiagnosticReport, Provenance)`, r] as const),
  ])('entry %s validates against base R4 and its profile', (_label, resource) => {
    expect(resource.meta?.profile).toEqual(profilesOf(resource));
    expect(errors(resource)).toEqual([]);
  });

  it('the transaction Bundle as a whole validates', () => {
    const { transaction } = assessBundle(readCase(name).bundle, { now: NOW });
    expect(errors(transaction)).toEqual([]);
  });
});

describe('a hand-made patient', () => {
  it('every written resource validates', () => {
    for (const r of written(bundle(smallPatient()))) expect(errors(r)).toEqual([]);
  });
});

describe('Flag supersession', () => {
  it('the earlier Flag, fed back from the server, is set inactive; both Flags validate', () => {
    const { bundle: full } = readCase('pseudoprogression') as { bundle: { entry: { resource: Resource }[] } };
    const dateOf = (r: Resource) =>
      String(
        (r as { effectiveDateTime?: string; started?: string }).effectiveDateTime ??
          (r as { started?: string }).started ??
          '',
      );
    const early = { ...full, entry: full.entry.filter((e) => dateOf(e.resource).slice(0, 10) <= '2026-03-09') };
    const first = written(early).find((r) => r.resourceType === 'Flag');
    expect(first).toMatchObject({ status: 'active', code: { coding: [{ code: 'possible-pseudoprogression' }] } });
    const stored = { ...first!, id: 'flag-1', meta: { ...first!.meta, versionId: '1' } } as Resource;
    const { transaction } = assessBundle({ ...full, entry: [...full.entry, { resource: stored }] }, { now: NOW });
    const flags = (transaction.entry ?? []).filter((e) => e.resource?.resourceType === 'Flag');
    expect(flags.map((e) => [e.request?.method, e.request?.url, (e.resource as { status?: string }).status])).toEqual([
      ['POST', 'Flag', 'active'],
      ['PUT', 'Flag/flag-1', 'inactive'],
    ]);
    expect(flags[1]?.request?.ifMatch).toBe('W/"1"');
    expect((flags[1]?.resource as { period?: unknown } | undefined)?.period).toEqual({
      start: '2026-03-09',
      end: '2026-06-15',
    });
    for (const e of flags) expect(errors(e.resource as Resource)).toEqual([]);
  });
});

describe('valid periods (per-1) on a superseded Flag', () => {
  it('a Flag whose episode started after the latest scan (retracted scan, moved baseline) ends where it started', () => {
    const { bundle: full } = readCase('pseudoprogression') as { bundle: { entry: { resource: Resource }[] } };
    const early = {
      ...full,
      entry: full.entry.filter((e) => {
        const r = e.resource as { effectiveDateTime?: string; started?: string };
        return String(r.effectiveDateTime ?? r.started ?? '').slice(0, 10) <= '2026-03-09';
      }),
    };
    const first = written(early).find((r) => r.resourceType === 'Flag') as Resource & { period?: { start?: string } };
    const later = {
      ...first,
      id: 'flag-later',
      meta: { ...first.meta, versionId: '3' },
      period: { start: '2026-09-01' },
    };
    const { transaction } = assessBundle({ ...full, entry: [...full.entry, { resource: later }] }, { now: NOW });
    const superseded = transaction.entry?.find((e) => e.request?.url === 'Flag/flag-later')?.resource as
      | (Resource & { status?: string; period?: { start?: string; end?: string } })
      | undefined;
    expect(superseded?.status).toBe('inactive');
    expect(superseded?.period).toEqual({ start: '2026-09-01', end: '2026-09-01' });
    expect(errors(transaction)).toEqual([]);
    // The end it would have had before (the latest scan, before its start) is refused by the validation.
    const before = { ...superseded, period: { start: '2026-09-01', end: '2026-06-15' } } as Resource;
    expect(errors(before).map((e) => e[1])).toEqual(['Flag.period']);
  });
});
