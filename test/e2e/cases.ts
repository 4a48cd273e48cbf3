/**
 * The sample cases for the reliability tests: loaded (optionally as renamed copies, for many patients), changed,
 * put on a FHIR server, and summarised two ways for comparison — what `assess` (src/pipeline) gives for the data,
 * and what the adapter left on the server.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Bundle, DiagnosticReport, Flag, Identifier, Observation, Resource } from '@medplum/fhirtypes';
import { expect } from 'vitest';
import { IDENTIFIER_SYSTEM } from '../../src/codes.ts';
import { assessBundle } from '../../src/pipeline/assess-resources.ts';
import type { SandboxRepository } from '../../src/sandbox/index.ts';
import { CASES_DIR, type CaseSummary, caseNames, summarise, TRANSACTIONS_DIR } from '../cli/case-check.ts';
import { withSentinelData } from '../setup/patient-data-sentinels.ts';
import { postBundle } from './harness.ts';

export { caseNames };

export interface TestCase {
  /** The sample's name (or the copy's). */
  name: string;
  patientId: string;
  /** The input resources, as in the sample (the same in its case Bundle and its transaction). */
  resources: Resource[];
}

/**
 * A sample case; with `copy`, every id, reference and identifier is renamed (`NAME` -> `NAME-COPY`), giving a
 * new patient with the same history.
 */
export function loadCase(name: string, copy?: string): TestCase {
  const newName = copy ? `${name}-${copy}` : name;
  const read = (file: string): Bundle => {
    const text = readFileSync(file, 'utf8');
    return JSON.parse(copy ? text.split(name).join(newName) : text) as Bundle;
  };
  const bundle = read(join(CASES_DIR, `${name}.bundle.json`));
  const resources = (bundle.entry ?? []).map((e) => e.resource as Resource);
  const patient = resources.find((r) => r.resourceType === 'Patient');
  if (!patient?.id) throw new Error(`case ${name} has no Patient`);
  // The transaction sample holds the same resources (checked here, so the two never drift apart).
  const tx = read(join(TRANSACTIONS_DIR, `${name}.transaction.json`));
  expect((tx.entry ?? []).map((e) => e.resource)).toEqual(resources);
  // Every loaded patient carries data that must never be logged (test/log-scan looks for it).
  const withPatientData = resources.map((r) => (r.resourceType === 'Patient' ? withSentinelData(r) : r));
  return { name: newName, patientId: patient.id, resources: withPatientData };
}

/** The case with some resources changed (by type/id) or removed (the function returns undefined). */
export function changeCase(tc: TestCase, change: (r: Resource) => Resource | undefined): TestCase {
  return {
    ...tc,
    resources: tc.resources.flatMap((r) => {
      const changed = change(structuredClone(r));
      return changed ? [changed] : [];
    }),
  };
}

/** The transaction that puts the case's resources on a server (PUT each by id, as the samples do). */
export function caseTransaction(tc: TestCase): Bundle {
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: tc.resources.map((resource) => ({
      resource,
      request: { method: 'PUT', url: `${resource.resourceType}/${resource.id}` },
    })),
  };
}

/** Puts the cases on the FHIR server over HTTP (one transaction each). */
export async function loadCases(baseUrl: string, cases: readonly TestCase[]): Promise<void> {
  for (const tc of cases) await postBundle(baseUrl, caseTransaction(tc));
}

/** The stored versions (with meta) of the case's resources. */
export async function storedResources(repo: SandboxRepository, tc: TestCase): Promise<Resource[]> {
  return Promise.all(tc.resources.map((r) => repo.readResource(r.resourceType, r.id as string)));
}

export interface Outcome extends CaseSummary {
  /** Adapter identifiers of the DiagnosticReports, sorted. */
  reportIds: string[];
  /** Adapter identifiers of the adapter's Observations, sorted. */
  observationIds: string[];
  /** Adapter identifiers of the active Flags, sorted. */
  activeFlagIds: string[];
}

const adapterId = (identifiers: Identifier[] | undefined): string | undefined =>
  identifiers?.find((i) => i.system === IDENTIFIER_SYSTEM)?.value;

function outcomeOf(resources: Resource[], patientId: string): Outcome {
  const patientRef = `Patient/${patientId}`;
  const ofPatient = (r: Resource): boolean =>
    String((r as { subject?: { reference?: string } }).subject?.reference ?? '').endsWith(patientRef);
  const mine = resources.filter((r) => ofPatient(r) && adapterId((r as { identifier?: Identifier[] }).identifier));
  const idsOf = (type: string, filter: (r: Resource) => boolean = () => true): string[] =>
    mine
      .filter((r) => r.resourceType === type && filter(r))
      .map((r) => adapterId((r as { identifier?: Identifier[] }).identifier) as string)
      .sort();
  return {
    ...summarise(
      { resourceType: 'Bundle', type: 'collection', entry: resources.map((resource) => ({ resource })) },
      patientRef,
    ),
    reportIds: idsOf('DiagnosticReport'),
    observationIds: idsOf('Observation'),
    activeFlagIds: idsOf('Flag', (r) => (r as Flag).status === 'active'),
  };
}

/** What `assess` (the pipeline the CLI runs on a case Bundle) writes for the case's data. */
export function expectedOutcome(tc: TestCase): Outcome {
  const bundle: Bundle = {
    resourceType: 'Bundle',
    type: 'collection',
    entry: tc.resources.map((resource) => ({
      fullUrl: `http://example.org/fhir/${resource.resourceType}/${resource.id}`,
      resource,
    })),
  };
  const { transaction } = assessBundle(bundle);
  return outcomeOf(
    (transaction.entry ?? []).map((e) => e.resource as Resource),
    tc.patientId,
  );
}

/** What the adapter left on the server for the patient, and every adapter identifier found more than once. */
export function serverOutcome(repo: SandboxRepository, patientId: string): { outcome: Outcome; duplicates: string[] } {
  const resources = [
    ...repo.listCurrent<DiagnosticReport>('DiagnosticReport'),
    ...repo.listCurrent<Observation>('Observation'),
    ...repo.listCurrent<Flag>('Flag'),
  ];
  const outcome = outcomeOf(resources, patientId);
  const seen = new Map<string, number>();
  const patientRef = `Patient/${patientId}`;
  for (const r of resources) {
    const id = adapterId(r.identifier);
    if (!id || !String(r.subject?.reference ?? '').endsWith(patientRef)) continue;
    const key = `${r.resourceType}|${id}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
  }
  return { outcome, duplicates: [...seen].filter(([, n]) => n > 1).map(([k]) => k) };
}

/** Asserts the server holds exactly what `assess` gives for the case: the same reports and Flag, nothing twice. */
export function expectAssessed(repo: SandboxRepository, tc: TestCase): void {
  const expected = expectedOutcome(tc);
  expect(expected.reports.length, `${tc.name}: assess gives reports`).toBeGreaterThan(0);
  const { outcome, duplicates } = serverOutcome(repo, tc.patientId);
  expect(outcome, tc.name).toEqual(expected);
  expect(duplicates, tc.name).toEqual([]);
}

/** Asserts the adapter wrote nothing for the patient. */
export function expectNothingWritten(repo: SandboxRepository, patientId: string): void {
  const { outcome } = serverOutcome(repo, patientId);
  expect(outcome.reportIds, patientId).toEqual([]);
  expect(outcome.observationIds, patientId).toEqual([]);
  expect(outcome.activeFlagIds, patientId).toEqual([]);
}

/** Versions in the history of each of the adapter's DiagnosticReports for the patient (1 = written once). */
export async function reportVersionCounts(repo: SandboxRepository, patientId: string): Promise<number[]> {
  const reports = repo
    .listCurrent<DiagnosticReport>('DiagnosticReport')
    .filter((r) => r.subject?.reference?.endsWith(`Patient/${patientId}`));
  return Promise.all(reports.map(async (r) => (await repo.readHistory('DiagnosticReport', r.id)).entry?.length ?? 0));
}

/** A deterministic shuffle (mulberry32), so a failure can be reproduced. */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  let a = seed >>> 0;
  const random = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/** Runs `work` over the items with at most `limit` at once. */
export async function inParallel<T>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const runners = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      await work(items[index] as T, index);
    }
  });
  await Promise.all(runners);
}
