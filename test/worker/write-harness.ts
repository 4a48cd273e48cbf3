/**
 * The worker's assess-and-write job against a sandbox that imitates a server (SANDBOX_PROFILE), over loopback HTTP:
 * the case loaded as a hospital's systems would (POST /sandbox/load), the job run as the service runs it, every
 * request the adapter makes recorded, writes made to fail after a count (a write interrupted half-way), answers
 * changed on their way back (a search inside a batch made to fail).
 */
import type { Bundle, CapabilityStatement, Flag, Observation, Resource } from '@medplum/fhirtypes';
import { pino } from 'pino';
import { expect } from 'vitest';
import { IDENTIFIER_SYSTEM } from '../../src/codes.ts';
import type { SandboxProfileName } from '../../src/config/change-detection.ts';
import { clearCapabilitiesCache, parseCapabilities, readCapabilities } from '../../src/fhir/capabilities.ts';
import { createFhirClient } from '../../src/fhir/client-factory.ts';
import { isAsLeft } from '../../src/fhir/ownership.ts';
import { planWrites } from '../../src/fhir/write-plan.ts';
import { memoryLedger, type WriteLedger } from '../../src/fhir/written-resources.ts';
import { assessResources } from '../../src/pipeline/assess-resources.ts';
import { createMetrics, type Metrics } from '../../src/server/metrics.ts';
import { type AssessOutcome, assessPatientJob } from '../../src/worker/assess-patient.ts';
import { loadCase, type TestCase } from '../e2e/cases.ts';
import { loadIntoSandbox, type SandboxServer, startSandboxServer } from '../e2e/harness.ts';
import { validateWritten } from '../support/fhir-validation/validate.ts';

export interface Recorded {
  method: string;
  url: string;
  headers: Record<string, string>;
}

export interface WriteBench {
  server: SandboxServer;
  requests: Recorded[];
  metrics: Metrics;
  ledger: WriteLedger;
  /**
   * Makes the n-th write request from now (1 = the next) and every later one fail as a dropped connection; with
   * `answerLost`, the n-th reaches the server and only its answer is lost (the server wrote it).
   */
  failWritesFrom(n: number | undefined, options?: { answerLost?: boolean }): void;
  /** From now on each answer passes through `change` (undefined: answers as the server gave them). */
  changeAnswers(change: AnswerChange | undefined): void;
  /** Runs the assess-patient job once (with a context already read: as a backfill from an export runs it). */
  assess(patientId: string, context?: Resource[]): Promise<AssessOutcome | undefined>;
  close(): Promise<void>;
}

/** Gives the answer the adapter gets for a request: the server's (`forward()`), or another. */
export type AnswerChange = (
  request: { method: string; url: string; body: unknown },
  forward: () => Promise<Response>,
) => Promise<Response>;

/** A request that writes: PUT, DELETE, or a POST other than a search or a batch of reads. */
const isWrite = (method: string, url: string, body: unknown) =>
  method === 'PUT' ||
  method === 'DELETE' ||
  (method === 'POST' && !url.includes('_search') && !(typeof body === 'string' && body.includes('"type":"batch"')));

export async function startWriteBench(profile: SandboxProfileName): Promise<WriteBench> {
  const server = await startSandboxServer({ profile });
  const requests: Recorded[] = [];
  let failFrom: number | undefined;
  let answerLost = false;
  let writes = 0;
  let change: AnswerChange | undefined;
  const fetchFn = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.toString() : input.url;
    const method = (init?.method ?? 'GET').toUpperCase();
    const headers = Object.fromEntries(new Headers(init?.headers).entries());
    requests.push({ method, url, headers });
    if (isWrite(method, url, init?.body)) {
      writes++;
      if (failFrom !== undefined && writes >= failFrom) {
        if (answerLost && writes === failFrom) await (await fetch(input, init)).text();
        throw new TypeError('fetch failed (write interrupted)');
      }
    }
    return change ? change({ method, url, body: init?.body }, () => fetch(input, init)) : fetch(input, init);
  };
  const client = createFhirClient(
    { port: 0, fhir: { baseUrl: server.baseUrl, timeoutMs: 10_000, auth: { mode: 'none' } } },
    { fetch: fetchFn as never },
  );
  clearCapabilitiesCache();
  const metrics = createMetrics();
  const ledger = memoryLedger();
  const deps = {
    client,
    capabilities: () => readCapabilities(client),
    metrics,
    logger: pino({ level: 'silent' }),
    ledger,
  };
  return {
    server,
    requests,
    metrics,
    ledger,
    failWritesFrom(n, options) {
      writes = 0;
      failFrom = n;
      answerLost = options?.answerLost ?? false;
    },
    changeAnswers(next) {
      change = next;
    },
    assess: (patientId, context) => assessPatientJob(deps, patientId, context),
    close: () => server.close(),
  };
}

/** Loads a sample case into the sandbox (POST /sandbox/load, unrestricted by the profile). */
export async function loadSample(
  bench: Pick<WriteBench, 'server'>,
  name: string,
  change?: (tc: TestCase) => TestCase,
): Promise<TestCase> {
  const tc0 = loadCase(name);
  const tc = change ? change(tc0) : tc0;
  const bundle: Bundle = {
    resourceType: 'Bundle',
    type: 'collection',
    entry: tc.resources.map((resource) => ({ resource })),
  };
  await loadIntoSandbox(bench.server.url, bundle);
  return tc;
}

const keyOf = (r: Resource) =>
  ((r as { identifier?: { system?: string; value?: string }[] }).identifier ?? []).find(
    (i) => i.system === IDENTIFIER_SYSTEM,
  )?.value;

/** Every current resource the adapter wrote for the patient, by type, as `key status` lines, sorted. */
export function writtenByType(bench: Pick<WriteBench, 'server'>, patientId: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const type of ['Observation', 'DiagnosticReport', 'DocumentReference', 'Flag'] as const) {
    const rows = bench.server.repo
      .listCurrent<Resource>(type)
      .filter((r) => keyOf(r)?.startsWith(`${patientId}/`))
      .map((r) => `${keyOf(r)} ${(r as { status?: string }).status}`)
      .sort();
    if (rows.length > 0) out[type] = rows;
  }
  const provenance = bench.server.repo.listCurrent<Resource>('Provenance').length;
  if (provenance > 0) out.Provenance = [`${provenance}`];
  return out;
}

/** Current resources of a type carrying the adapter's identifier for the patient. */
export function adapterResources<T extends Resource>(
  bench: Pick<WriteBench, 'server'>,
  type: T['resourceType'],
  patientId: string,
): T[] {
  return bench.server.repo.listCurrent<T>(type).filter((r) => keyOf(r)?.startsWith(`${patientId}/`));
}

/** The value of the irecist metric counting outputs not written. */
export async function notWrittenCount(bench: WriteBench, type: string, reason: string): Promise<number> {
  const metric = await bench.metrics.outputsNotWritten.get();
  return metric.values.find((v) => v.labels.type === type && v.labels.reason === reason)?.value ?? 0;
}

/**
 * Asserts that what the adapter's resources on the server say agrees with `assess` on the patient's current data:
 * the timepoints in force (final timepoint Observations: date and response) and the active Flag (the status, when
 * flagged and the server holds Flags).
 */
export function expectAgreesWithAssess(
  bench: Pick<WriteBench, 'server'>,
  patientId: string,
  options: { flags: boolean },
): void {
  const inputs = ['Patient', 'Observation', 'ImagingStudy', 'MedicationAdministration', 'Medication', 'BodyStructure']
    .flatMap((t) => bench.server.repo.listCurrent<Resource>(t as Resource['resourceType']))
    .filter((r) => keyOf(r) === undefined)
    .filter(
      (r) =>
        r.resourceType === 'Medication' || JSON.stringify(r).includes(`Patient/${patientId}`) || r.id === patientId,
    );
  const { assessment } = assessResources(inputs);
  const expected = assessment.timepoints.map((tp) => `${tp.date} ${tp.response}`);
  const written = adapterResources<Observation>(bench, 'Observation', patientId)
    .filter((o) => keyOf(o)?.includes('/timepoint-response/') && o.status === 'final')
    .map((o) => `${keyOf(o)?.split('/').at(-1)} ${o.valueCodeableConcept?.coding?.[0]?.code}`)
    .sort();
  expect(written).toEqual([...expected].sort());
  if (!options.flags) return;
  const active = adapterResources<Flag>(bench, 'Flag', patientId)
    .filter((f) => f.status === 'active')
    .map((f) => f.code?.coding?.[0]?.code);
  const flagged = assessment.timepoints.at(-1)?.flagPriority !== undefined;
  expect(active).toEqual(flagged ? [assessment.status] : []);
}

/**
 * Asserts every current resource the adapter wrote for the patient, and that is still as it left it, validates
 * against base R4 and its profile (what others changed is theirs).
 */
export function expectAllValid(bench: Pick<WriteBench, 'server'>, patientId: string): void {
  for (const type of ['Observation', 'DiagnosticReport', 'DocumentReference', 'Flag'] as const) {
    for (const r of adapterResources<Resource>(bench, type, patientId).filter(isAsLeft)) {
      const errors = validateWritten(r).filter((i) => i.severity === 'error' || i.severity === 'fatal');
      expect(errors, `${type} ${keyOf(r)}`).toEqual([]);
    }
  }
}

/** What `assess` gives for the patient's data as the server holds it now, limited to what the plan can create. */
export async function expectedFor(b: Pick<WriteBench, 'server'>, patientId: string): Promise<Record<string, string[]>> {
  const cs = (await (await fetch(`${b.server.baseUrl}/metadata`)).json()) as CapabilityStatement;
  const plan = planWrites(parseCapabilities(cs));
  const repo = b.server.repo;
  const inputs: Resource[] = ['Patient', 'Observation', 'ImagingStudy', 'MedicationAdministration', 'BodyStructure']
    .flatMap((t) => repo.listCurrent<Resource>(t as Resource['resourceType']))
    .filter((r) => JSON.stringify(r).includes(patientId))
    .filter(
      (r) => !(r as { identifier?: { system?: string }[] }).identifier?.some((i) => i.system === IDENTIFIER_SYSTEM),
    );
  const { transaction } = assessResources(inputs, { outputs: plan.outputs });
  const out: Record<string, string[]> = {};
  for (const e of transaction.entry ?? []) {
    const r = e.resource as Resource & { identifier?: { system?: string; value?: string }[]; status?: string };
    const key = r.identifier?.find((i) => i.system === IDENTIFIER_SYSTEM)?.value;
    const type = r.resourceType as keyof typeof plan.types;
    if (!key || !plan.types[type]?.create) continue;
    out[type] = [...(out[type] ?? []), `${key} ${r.status}`].sort();
  }
  if (plan.types.Provenance.create) out.Provenance = ['1'];
  return out;
}
