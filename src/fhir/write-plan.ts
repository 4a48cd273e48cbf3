/**
 * The write plan of one FHIR server, from its CapabilityStatement (contract section 2, "What comes out"; issue #9
 * item 1): how results travel (one transaction where listed, else batches, else one request per resource), how the
 * adapter's earlier results are found (a search by patient, then the identifier), which resource types can be
 * created or updated, and what carries a result a server cannot take (Flag -> the CancerDiseaseStatus Observation,
 * DiagnosticReport -> a DocumentReference, Provenance -> not written, counted in /metrics).
 * https://hl7.org/fhir/R4/capabilitystatement.html, https://hl7.org/fhir/R4/http.html#transaction
 */
import { outputsFor, type RenderedOutputs } from '../mapping/rendered-outputs.ts';
import type { Capabilities, TypeCapability } from './capabilities.ts';

/** The resource types the adapter writes. */
export const WRITTEN_TYPES = ['Observation', 'DiagnosticReport', 'DocumentReference', 'Flag', 'Provenance'] as const;
export type WrittenType = (typeof WRITTEN_TYPES)[number];

export type WriteMode = 'transaction' | 'batch' | 'single';

/** What the plan may do with one resource type. */
export interface TypePlan {
  create: boolean;
  update: boolean;
  /** POST with If-None-Exist (a second create of the same identifier matches instead of doubling). */
  conditionalCreate: boolean;
  /** Updates carry If-Match with the version read (the server keeps versions). */
  ifMatch: boolean;
  /** The search parameter that finds a patient's resources of this type; undefined = cannot be searched. */
  patientSearch?: 'subject' | 'patient';
}

export interface WritePlan {
  mode: WriteMode;
  types: Record<WrittenType, TypePlan>;
  /** Which outputs are rendered for this server (the option toTransaction takes). */
  outputs: Required<RenderedOutputs>;
  /** One sentence per decision, for /readyz and the start-up log (no patient data). */
  lines: string[];
}

const EVERYTHING: TypeCapability = {
  interactions: ['read', 'search-type', 'create', 'update'],
  conditionalCreate: false,
  conditionalUpdate: false,
  searchParams: ['subject', 'patient'],
};

function typePlan(caps: Pick<Capabilities, 'types'>, type: WrittenType): TypePlan {
  const known = Object.keys(caps.types).length > 0;
  // A statement that lists no types says nothing: try everything, a refusal makes the plan be read again.
  const t = known ? caps.types[type] : EVERYTHING;
  if (!t) return { create: false, update: false, conditionalCreate: false, ifMatch: false };
  const has = (i: string) => t.interactions.length === 0 || t.interactions.includes(i);
  const search = has('search-type');
  const param = (['subject', 'patient'] as const).find(
    (p) => t.searchParams.length === 0 || t.searchParams.includes(p),
  );
  return {
    create: has('create'),
    update: has('update'),
    conditionalCreate: has('create') && t.conditionalCreate,
    ifMatch: t.versioning !== 'no-version',
    ...(search && param ? { patientSearch: param } : {}),
  };
}

/**
 * The write plan for a server.
 * @param caps - The server's capabilities (capabilities.ts).
 * @returns The plan.
 */
export function planWrites(caps: Pick<Capabilities, 'transaction' | 'batch' | 'types'>): WritePlan {
  const types = Object.fromEntries(WRITTEN_TYPES.map((t) => [t, typePlan(caps, t)])) as Record<WrittenType, TypePlan>;
  const mode: WriteMode = caps.transaction ? 'transaction' : caps.batch ? 'batch' : 'single';
  const observation = types.Observation.create;
  const outputs = outputsFor((t) => typePlanOf({ types } as WritePlan, t)?.create ?? false);
  const lines = [
    mode === 'transaction'
      ? 'Writes: one transaction per assessment'
      : mode === 'batch'
        ? 'Writes: batches, in reference order (no transaction listed)'
        : 'Writes: one request per resource (no transaction or batch listed)',
    WRITTEN_TYPES.every((t) => !types[t].create || types[t].conditionalCreate)
      ? 'Earlier results: found by identifier; creates conditional (If-None-Exist)'
      : 'Earlier results: searched by identifier, then created or updated' +
        (types.Observation.ifMatch ? ' with If-Match' : ''),
  ];
  if (!observation) lines.push('Observation: not writable on this server; no timepoint or disease status written');
  if (!outputs.flag) {
    lines.push(
      observation
        ? 'Flag: not writable on this server; status written as CancerDiseaseStatus Observation'
        : 'Flag: not writable on this server',
    );
  }
  if (!outputs.diagnosticReport) {
    lines.push(
      outputs.documentReference
        ? 'DiagnosticReport: not creatable on this server; report written as DocumentReference'
        : 'DiagnosticReport: not creatable on this server; no report written',
    );
  }
  if (!outputs.provenance) {
    lines.push('Provenance: not writable on this server; not written (irecist_outputs_not_written_total)');
  }
  return { mode, types, outputs, lines };
}

/**
 * Whether the plan may write a resource of this type (types the adapter does not write: never).
 * @param plan - The plan.
 * @param type - The resource type.
 */
export function typePlanOf(plan: WritePlan, type: string): TypePlan | undefined {
  return (WRITTEN_TYPES as readonly string[]).includes(type) ? plan.types[type as WrittenType] : undefined;
}
