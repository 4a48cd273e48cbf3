/**
 * The write plan against each sandbox server profile, over HTTP (issue #9 item 1): exactly the outputs the profile
 * can hold, the same after writing twice, the same after a write interrupted half-way; no transaction or
 * conditional request where the profile lists none; what the server's current data gives under `assess` is what is
 * written.
 */
import type { CapabilityStatement, Resource } from '@medplum/fhirtypes';
import { afterEach, describe, expect, it } from 'vitest';
import { IDENTIFIER_SYSTEM } from '../../src/codes.ts';
import type { SandboxProfileName } from '../../src/config/change-detection.ts';
import { parseCapabilities } from '../../src/fhir/capabilities.ts';
import { planWrites } from '../../src/fhir/write-plan.ts';
import { assessResources } from '../../src/pipeline/assess-resources.ts';
import {
  expectAgreesWithAssess,
  expectAllValid,
  loadSample,
  startWriteBench,
  type WriteBench,
  writtenByType,
} from './write-harness.ts';

const CASE = 'confirmed-progression';
let bench: WriteBench | undefined;
afterEach(async () => {
  await bench?.close();
  bench = undefined;
});

/** What `assess` gives for the patient's data as the server holds it now, limited to what the plan can create. */
async function expectedFor(b: WriteBench, patientId: string): Promise<Record<string, string[]>> {
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

describe.each(['medplum', 'hapi', 'epic', 'oracle'] as SandboxProfileName[])(
  'write plan on the %s profile',
  (profile) => {
    it('writes exactly what the profile can hold, once, however often and however interrupted', async () => {
      bench = await startWriteBench(profile);
      await loadSample(bench, CASE);
      const expected = await expectedFor(bench, CASE);
      const first = await bench.assess(CASE);
      expect(first?.written).toBeGreaterThan(0);
      expect(writtenByType(bench, CASE)).toEqual(expected);

      expectAgreesWithAssess(bench, CASE, { flags: profile === 'medplum' || profile === 'hapi' });
      expectAllValid(bench, CASE);

      const second = await bench.assess(CASE);
      expect(second).toMatchObject({ written: 0, retracted: 0 });
      expect(writtenByType(bench, CASE)).toEqual(expected);

      if (profile === 'epic' || profile === 'oracle') {
        expect(expected.Flag).toBeUndefined();
        expect(expected.DiagnosticReport).toBeUndefined();
        expect(expected.Observation?.length).toBeGreaterThan(0);
        const base = bench.server.baseUrl;
        const offending = bench.requests.filter(
          (r) =>
            (r.method === 'POST' && (r.url === base || r.url === `${base}/`)) ||
            r.headers['if-none-exist'] !== undefined ||
            ((r.method === 'PUT' || r.method === 'POST') && r.url.includes('?')),
        );
        expect(offending).toEqual([]);
      }
    });

    it('converges after a write interrupted half-way', async () => {
      bench = await startWriteBench(profile);
      await loadSample(bench, CASE);
      const expected = await expectedFor(bench, CASE);
      bench.failWritesFrom(2);
      await expect(bench.assess(CASE)).rejects.toThrow();
      bench.failWritesFrom(undefined);
      await bench.assess(CASE);
      expect(writtenByType(bench, CASE)).toEqual(expected);
      await bench.assess(CASE);
      expect(writtenByType(bench, CASE)).toEqual(expected);
    });
  },
);
