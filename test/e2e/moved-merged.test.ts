/**
 * Moved and merged data (issue #11 item 3), end to end over HTTP: the service in sandbox mode, the sandbox notifying
 * it as Medplum does, the chart changed through the sandbox's FHIR API as a hospital's systems would change it.
 * - A measurement filed against the wrong patient and moved to another: both patients are reassessed (the one it left
 *   from the resource's _history); the one it joined does not use it, since its lesion (focus) is the first patient's,
 *   and its report says so (not "BodyStructure was not found").
 * - Two records merged (data re-pointed, the old Patient `active=false` with a `replaced-by` link): the old record is
 *   not assessed, its adapter Flag is set inactive, the surviving record is assessed with all the data.
 * Each ends as `assess` gives on the server's current data.
 */
import type { DiagnosticReport, Flag, Observation, Patient, Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningService } from '../../src/service/start-service.ts';
import {
  caseTransaction,
  changeCase,
  expectAssessed,
  expectedOutcome,
  loadCase,
  serverOutcome,
  type TestCase,
} from './cases.ts';
import { fhir, startTestService, waitForQuiet } from './harness.ts';

let service: RunningService;
beforeAll(async () => {
  service = await startTestService({ database: 'postgres' });
});
afterAll(async () => {
  await service?.close();
});

async function put(resource: Resource): Promise<void> {
  const { status } = await fhir(service, `${resource.resourceType}/${resource.id}`, {
    method: 'PUT',
    body: JSON.stringify(resource),
  });
  expect(status, `PUT ${resource.resourceType}/${resource.id}`).toBeLessThan(300);
}

async function load(...cases: TestCase[]): Promise<void> {
  for (const tc of cases) {
    const { status } = await fhir(service, '', { method: 'POST', body: JSON.stringify(caseTransaction(tc)) });
    expect(status).toBe(200);
  }
  await waitForQuiet(service, 60_000);
}

const repo = () => service.sandbox!.repo;

/** The case's measurement of its latest scan (a size Observation with a longest diameter). */
function lastMeasurement(tc: TestCase): Observation {
  const measured = tc.resources
    .filter((r): r is Observation => r.resourceType === 'Observation' && !!r.component?.length)
    .sort((a, b) => String(a.effectiveDateTime).localeCompare(String(b.effectiveDateTime)));
  return measured.at(-1) as Observation;
}

/** Every resource's patient reference pointed at another patient (the merge re-points the data). */
const repointed = (r: Resource, from: string, to: string): Resource =>
  JSON.parse(JSON.stringify(r).split(`"Patient/${from}"`).join(`"Patient/${to}"`)) as Resource;

describe('moved and merged data', () => {
  it('a measurement moved to another patient: both reassessed; the lesion of another patient is not used, and said so', {
    timeout: 90_000,
  }, async () => {
    const first = loadCase('confirmed-progression', 'moved-a');
    const second = loadCase('responder', 'moved-b');
    await load(first, second);
    expectAssessed(repo(), first);
    expectAssessed(repo(), second);

    const moved = lastMeasurement(first);
    const stored = (await repo().readResource('Observation', moved.id as string)) as Observation;
    await put({ ...stored, meta: undefined, subject: { reference: `Patient/${second.patientId}` } } as Observation);
    await waitForQuiet(service, 60_000);

    const firstNow = changeCase(first, (r) => (r.id === moved.id ? undefined : r));
    expect(expectedOutcome(firstNow), 'the move changes the first patient').not.toEqual(expectedOutcome(first));
    expectAssessed(repo(), firstNow);
    // The second patient's data now holds the measurement, of a lesion (BodyStructure) of the first patient.
    const focus = moved.focus?.[0]?.reference as string;
    const lesion = first.resources.find((r) => `${r.resourceType}/${r.id}` === focus) as Resource;
    const secondNow: TestCase = {
      ...second,
      resources: [...second.resources, { ...moved, subject: { reference: `Patient/${second.patientId}` } }, lesion],
    };
    expectAssessed(repo(), secondNow);
    expect(serverOutcome(repo(), second.patientId).outcome).toEqual(expectedOutcome(second));
    const reports = repo()
      .listCurrent<DiagnosticReport>('DiagnosticReport')
      .filter((r) => r.subject?.reference === `Patient/${second.patientId}` && r.status === 'final');
    const text = reports.map((r) => r.conclusion ?? '').join('\n');
    expect(text).toContain('belongs to another patient');
    expect(text).not.toContain('BodyStructure was not found');
  });

  it('records merged: the old one not assessed and its Flag set inactive; the survivor assessed with all the data', {
    timeout: 90_000,
  }, async () => {
    const old = loadCase('confirmed-progression', 'merged-old');
    const survivorPatient = {
      ...(loadCase('confirmed-progression', 'merged-new').resources.find(
        (r) => r.resourceType === 'Patient',
      ) as Patient),
    };
    const survivorId = survivorPatient.id as string;
    await load(old, { name: 'survivor', patientId: survivorId, resources: [survivorPatient] });
    expectAssessed(repo(), old);
    const activeFlags = (patientId: string) =>
      repo()
        .listCurrent<Flag>('Flag')
        .filter((f) => f.subject?.reference === `Patient/${patientId}` && f.status === 'active');
    expect(activeFlags(old.patientId)).toHaveLength(1);

    // The merge, in one transaction: the old record retired, every one of its resources re-pointed at the survivor.
    const oldPatient = old.resources.find((r) => r.resourceType === 'Patient') as Patient;
    const retired: Patient = {
      ...oldPatient,
      active: false,
      link: [{ other: { reference: `Patient/${survivorId}` }, type: 'replaced-by' }],
    };
    const survivorNow: Patient = {
      ...survivorPatient,
      link: [{ other: { reference: `Patient/${old.patientId}` }, type: 'replaces' }],
    };
    const moved = old.resources
      .filter((r) => r.resourceType !== 'Patient')
      .map((r) => repointed(r, old.patientId, survivorId));
    const merge = caseTransaction({ ...old, resources: [retired, survivorNow, ...moved] });
    const { status } = await fhir(service, '', { method: 'POST', body: JSON.stringify(merge) });
    expect(status).toBe(200);
    await waitForQuiet(service, 60_000);

    expect(activeFlags(old.patientId), 'the old record carries no active Flag').toEqual([]);
    const flag = repo()
      .listCurrent<Flag>('Flag')
      .find((f) => f.subject?.reference === `Patient/${old.patientId}`) as Flag;
    expect(flag.status).toBe('inactive');
    expect(Date.parse(flag.period?.end as string)).toBeGreaterThanOrEqual(Date.parse(flag.period?.start as string));
    const survivorCase: TestCase = { name: 'survivor', patientId: survivorId, resources: [survivorNow, ...moved] };
    expectAssessed(repo(), survivorCase);
    expect(activeFlags(survivorId)).toHaveLength(1);
  });

  it('records merged: a Flag a clinician changed on the old record is left as the clinician left it', {
    timeout: 90_000,
  }, async () => {
    const old = loadCase('confirmed-progression', 'merged-noted');
    const survivor = {
      ...(loadCase('confirmed-progression', 'merged-noted-new').resources.find(
        (r) => r.resourceType === 'Patient',
      ) as Patient),
    };
    await load(old, { name: 'survivor', patientId: survivor.id as string, resources: [survivor] });
    const flagOf = (patientId: string) =>
      repo()
        .listCurrent<Flag>('Flag')
        .find((f) => f.subject?.reference === `Patient/${patientId}` && f.status === 'active');
    const flag = flagOf(old.patientId) as Flag;
    // A clinician's wording on the Flag (Flag has no note element in R4).
    const noted: Flag = { ...flag, code: { ...flag.code, text: 'Discussed at tumour board' } };
    delete noted.meta;
    await put(noted);
    await waitForQuiet(service, 60_000);

    const oldPatient = old.resources.find((r) => r.resourceType === 'Patient') as Patient;
    const retired: Patient = {
      ...oldPatient,
      active: false,
      link: [{ other: { reference: `Patient/${survivor.id}` }, type: 'replaced-by' }],
    };
    const moved = old.resources
      .filter((r) => r.resourceType !== 'Patient')
      .map((r) => repointed(r, old.patientId, survivor.id as string));
    const merge = caseTransaction({ ...old, resources: [retired, ...moved] });
    expect((await fhir(service, '', { method: 'POST', body: JSON.stringify(merge) })).status).toBe(200);
    await waitForQuiet(service, 60_000);

    const after = flagOf(old.patientId);
    expect(after?.id, 'the clinician-changed Flag stays active').toBe(flag.id);
    expect(JSON.stringify(after)).toContain('Discussed at tumour board');
  });
});
