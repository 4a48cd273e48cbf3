/**
 * What the adapter left on a sandbox server for a patient, and what it should have: the outputs by type as `key status`
 * lines, and `assess` on the server's current data limited to what the server's write plan can create (issue #9).
 */
import type { CapabilityStatement, Resource } from '@medplum/fhirtypes';
import { IDENTIFIER_SYSTEM } from '../../src/codes.ts';
import { parseCapabilities } from '../../src/fhir/capabilities.ts';
import { planWrites } from '../../src/fhir/write-plan.ts';
import { assessResources } from '../../src/pipeline/assess-resources.ts';
import type { SandboxRepository } from '../../src/sandbox/index.ts';

export const keyOf = (r: Resource): string | undefined =>
  ((r as { identifier?: { system?: string; value?: string }[] }).identifier ?? []).find(
    (i) => i.system === IDENTIFIER_SYSTEM,
  )?.value;

/** Every current resource the adapter wrote for the patient, by type, as `key status` lines (Provenance: a count). */
export function written(repo: SandboxRepository, patientId: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const type of ['Observation', 'DiagnosticReport', 'DocumentReference', 'Flag'] as const) {
    const rows = repo
      .listCurrent<Resource>(type)
      .filter((r) => keyOf(r)?.startsWith(`${patientId}/`))
      .map((r) => `${keyOf(r)} ${(r as { status?: string }).status}`)
      .sort();
    if (rows.length > 0) out[type] = rows;
  }
  const provenance = repo.listCurrent<Resource>('Provenance').length;
  if (provenance > 0) out.Provenance = [`${provenance}`];
  return out;
}

/** `Type/id@version` of every current resource the adapter wrote for the patient. */
export function versions(repo: SandboxRepository, patientId: string): string[] {
  return ['Observation', 'DiagnosticReport', 'DocumentReference', 'Flag', 'Provenance']
    .flatMap((type) => repo.listCurrent<Resource>(type as Resource['resourceType']))
    .filter((r) => keyOf(r)?.startsWith(`${patientId}/`) || r.resourceType === 'Provenance')
    .map((r) => `${r.resourceType}/${r.id}@${r.meta?.versionId}`)
    .sort();
}

/** What `assess` gives for the server's data, limited to what the server's write plan can create. */
export async function expectedOutputs(
  baseUrl: string,
  repo: SandboxRepository,
  patientId: string,
): Promise<Record<string, string[]>> {
  const cs = (await (await fetch(`${baseUrl}/metadata`)).json()) as CapabilityStatement;
  const plan = planWrites(parseCapabilities(cs));
  const inputs = ['Patient', 'Observation', 'ImagingStudy', 'MedicationAdministration', 'BodyStructure']
    .flatMap((t) => repo.listCurrent<Resource>(t as Resource['resourceType']))
    .filter(
      (r) =>
        (r.resourceType === 'Patient' ? r.id === patientId : JSON.stringify(r).includes(`"Patient/${patientId}"`)) &&
        keyOf(r) === undefined,
    );
  const out: Record<string, string[]> = {};
  for (const e of assessResources(inputs, { outputs: plan.outputs }).transaction.entry ?? []) {
    const r = e.resource as Resource & { status?: string };
    const key = keyOf(r);
    const type = r.resourceType as keyof typeof plan.types;
    if (!key || !plan.types[type]?.create) continue;
    out[type] = [...(out[type] ?? []), `${key} ${r.status}`].sort();
  }
  if (plan.types.Provenance.create) out.Provenance = ['1'];
  return out;
}
