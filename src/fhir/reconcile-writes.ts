/**
 * From the rendered results and what the server holds now, the requests that bring the chart to the adapter's
 * finding without touching what others changed (contract section 2, "Resources others changed"; issue #11 items 1
 * and 2). Per output (one identifier, its "slot"):
 * - the adapter's resource still as it left it (ownership.ts): updated by id with If-Match, or left when unchanged;
 * - changed by someone else: left alone; a report (DiagnosticReport, DocumentReference) whose finding changed since
 *   is superseded by a new one (identifier `<slot>/supersedes/<id>`) that points at the clinician's;
 * - deleted (the ledger says the adapter wrote it, the server no longer has it): not written again;
 * - new: created, with If-None-Exist where the server offers conditional create.
 * A per-timepoint output whose timepoint no longer exists (scan retracted, baseline moved) is set `entered-in-error`
 * while still as the adapter left it. Types the plan cannot write are counted, and references to what is not
 * written are removed. Pure: no I/O.
 */
import type { BundleEntry, Resource } from '@medplum/fhirtypes';
import { BASE } from '../codes.ts';
import { digest } from '../mapping/identifiers.ts';
import { keepWrittenChart } from './keep-chart.ts';
import {
  adapterKey,
  contentDigest,
  isAsLeft,
  recordedDigest,
  SUPERSEDES,
  slotOf,
  timepointOf,
  withDigest,
} from './ownership.ts';
import { typePlanOf, type WritePlan } from './write-plan.ts';

/** The extension on a DiagnosticReport that names the report it supersedes (R4 has no relatesTo on reports). */
export const SUPERSEDES_EXTENSION = `${BASE}/StructureDefinition/supersedes`;

/** The meta.tag system of a report's finding (the timepoint's response, status and measures), kept beside its content. */
export const FINDING_DIGEST_SYSTEM = `${BASE}/finding-digest`;

/** Why an output was not written. */
export type SkipReason = 'not-writable' | 'changed-by-others' | 'deleted-by-others';

export interface Skip {
  type: string;
  reason: SkipReason;
}

export interface Reconciled {
  /** The requests, in order: the rendered order, retractions, Provenance last. */
  entries: BundleEntry[];
  /** `urn:uuid:` fullUrls -> `Type/id` of resources already on the server (not written this time). */
  known: Map<string, string>;
  unchanged: number;
  retracted: number;
  skipped: Skip[];
  /** `Type|key` of every resource the requests create or update (for the ledger). */
  keys: string[];
}

const SUPERSEDABLE = new Set(['DiagnosticReport', 'DocumentReference']);
const RETRACTABLE = new Set(['DiagnosticReport', 'Observation', 'DocumentReference']);
const ref = (r: Resource) => `${r.resourceType}/${r.id}`;
const version = (r: Resource) => r.meta?.versionId;
const newest = (rs: Resource[]) =>
  [...rs].sort((a, b) => (a.meta?.lastUpdated ?? '').localeCompare(b.meta?.lastUpdated ?? '')).at(-1) as Resource;

/** Removes every element whose reference names a `urn:uuid:` that will not exist (an output not written). */
function dropUnresolvable<T>(value: T, resolvable: (urn: string) => boolean): T {
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.filter((x) => !dangling(x)).map(walk);
    if (v && typeof v === 'object') {
      const entries = Object.entries(v).filter(([, x]) => !dangling(x));
      return Object.fromEntries(entries.map(([k, x]) => [k, walk(x)]));
    }
    return v;
  };
  const dangling = (x: unknown): boolean => {
    if (!x || typeof x !== 'object' || Array.isArray(x)) return false;
    const r = (x as { reference?: unknown; valueReference?: { reference?: unknown } }).reference;
    const inner = (x as { valueReference?: { reference?: unknown } }).valueReference?.reference;
    const target = typeof r === 'string' ? r : typeof inner === 'string' ? inner : undefined;
    return typeof target === 'string' && target.startsWith('urn:uuid:') && !resolvable(target);
  };
  return walk(value) as T;
}

function put(resource: Resource, current: Resource, ifMatch: boolean, fullUrl?: string): BundleEntry {
  const v = version(current);
  return {
    ...(fullUrl ? { fullUrl } : {}),
    resource: withDigest({ ...resource, id: current.id }),
    request: { method: 'PUT', url: ref(current), ...(ifMatch && v ? { ifMatch: `W/"${v}"` } : {}) },
  };
}

function post(resource: Resource, key: string, conditional: boolean, fullUrl?: string): BundleEntry {
  const { id: _id, ...rest } = resource;
  const ifNoneExist = `identifier=${encodeURIComponent(`${BASE}/identifier|${key}`)}`;
  return {
    ...(fullUrl ? { fullUrl } : {}),
    resource: withDigest(rest as Resource),
    request: { method: 'POST', url: resource.resourceType, ...(conditional ? { ifNoneExist } : {}) },
  };
}

/**
 * The finding of each timepoint: its timepoint Observation's response, status and measures. A report others changed
 * is superseded only when this changes (new or corrected measurements), not when its wording does (a note about an
 * unrelated resource not used).
 */
function findingsByTimepoint(rendered: readonly BundleEntry[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of rendered) {
    const r = e.resource as (Resource & { valueCodeableConcept?: unknown; component?: unknown }) | undefined;
    const key = r ? adapterKey(r) : undefined;
    if (!r || !key || r.resourceType !== 'Observation' || !key.includes('/timepoint-response/')) continue;
    const tp = timepointOf(key);
    if (tp) out.set(tp, digest({ value: r.valueCodeableConcept, component: r.component }));
  }
  return out;
}

const recordedFinding = (r: Resource) => r.meta?.tag?.find((t) => t.system === FINDING_DIGEST_SYSTEM)?.code;

function withFinding(resource: Resource, finding: string | undefined): Resource {
  if (!finding || !SUPERSEDABLE.has(resource.resourceType)) return resource;
  const tag = [...(resource.meta?.tag ?? []).filter((t) => t.system !== FINDING_DIGEST_SYSTEM)];
  tag.push({ system: FINDING_DIGEST_SYSTEM, code: finding });
  return { ...resource, meta: { ...resource.meta, tag } };
}

function withKey(resource: Resource, key: string): Resource {
  const ids = (resource as { identifier?: { system?: string; value?: string }[] }).identifier ?? [];
  const identifier = ids.map((i) => (i.system === `${BASE}/identifier` ? { ...i, value: key } : i));
  return { ...resource, identifier } as Resource;
}

function supersedeLink(resource: Resource, previous: Resource): Resource {
  if (resource.resourceType === 'DocumentReference') {
    return { ...resource, relatesTo: [{ code: 'replaces', target: { reference: ref(previous) } }] } as Resource;
  }
  const extension = [
    ...((resource as { extension?: unknown[] }).extension ?? []),
    { url: SUPERSEDES_EXTENSION, valueReference: { reference: ref(previous) } },
  ];
  return { ...resource, extension } as Resource;
}

/**
 * Decides the requests.
 * @param rendered - The rendered transaction's entries (to-transaction.ts).
 * @param existing - The adapter's resources for this patient on the server now (any resource carrying its identifier).
 * @param plan - The server's write plan.
 * @param wroteBefore - `Type|key` the adapter wrote for this patient before (the ledger; deletions show against it).
 * @returns The requests and what was not written.
 */
export function reconcileWrites(
  rendered: readonly BundleEntry[],
  existing: readonly Resource[],
  plan: WritePlan,
  wroteBefore: ReadonlySet<string>,
): Reconciled {
  const out: Reconciled = { entries: [], known: new Map(), unchanged: 0, retracted: 0, skipped: [], keys: [] };
  const slots = new Map<string, Resource[]>();
  for (const r of existing) {
    const key = adapterKey(r);
    if (!key || !r.id) continue;
    const k = `${r.resourceType}|${slotOf(key)}`;
    slots.set(k, [...(slots.get(k) ?? []), r]);
  }
  const candidatesOf = (e: BundleEntry) => slots.get(`${e.resource?.resourceType}|${adapterKey(e.resource!)}`) ?? [];
  const isSlot = (e: BundleEntry) =>
    e.resource !== undefined && e.resource.resourceType !== 'Provenance' && !!adapterKey(e.resource);

  // Pass 1: which fullUrls will name a resource on the server after the write.
  const resolvable = new Set<string>();
  for (const e of rendered) {
    if (!isSlot(e) || !e.fullUrl) continue;
    const type = e.resource!.resourceType;
    const deleted = wroteBefore.has(`${type}|${adapterKey(e.resource!)}`);
    if (candidatesOf(e).length > 0 || (!deleted && typePlanOf(plan, type)?.create)) resolvable.add(e.fullUrl);
  }
  const canResolve = (urn: string) => resolvable.has(urn);

  // Pass 2: one decision per output.
  const findings = findingsByTimepoint(rendered);
  const timepoints = new Set<string>();
  let provenance: BundleEntry | undefined;
  for (const e of rendered) {
    if (e.resource?.resourceType === 'Provenance') {
      provenance = e;
      continue;
    }
    if (!isSlot(e)) {
      out.entries.push(e);
      continue;
    }
    const key = adapterKey(e.resource!)!;
    const tp = timepointOf(key);
    const finding = tp ? findings.get(tp) : undefined;
    let resource = withFinding(dropUnresolvable(e.resource!, canResolve), finding);
    const type = resource.resourceType;
    if (tp) timepoints.add(tp);
    const tplan = typePlanOf(plan, type);
    const candidates = candidatesOf(e);
    const owned = candidates.filter(isAsLeft);
    const current = owned.length > 0 ? newest(owned) : undefined;
    if (current) resource = keepWrittenChart(resource, current);
    const wanted = contentDigest(resource);
    if (current) {
      if (recordedDigest(current) === wanted) {
        out.unchanged++;
        if (e.fullUrl) out.known.set(e.fullUrl, ref(current));
      } else if (tplan?.update) {
        out.entries.push(put(resource, current, tplan.ifMatch, e.fullUrl));
        out.keys.push(`${type}|${adapterKey(current)}`);
      } else {
        out.skipped.push({ type, reason: 'not-writable' });
        if (e.fullUrl) out.known.set(e.fullUrl, ref(current));
      }
    } else if (candidates.length > 0) {
      const theirs = newest(candidates);
      const changed = finding ? recordedFinding(theirs) !== finding : recordedDigest(theirs) !== wanted;
      if (SUPERSEDABLE.has(type) && changed && tplan?.create) {
        const next = `${slotOf(key)}${SUPERSEDES}${theirs.id}`;
        out.entries.push(
          post(supersedeLink(withKey(resource, next), theirs), next, tplan.conditionalCreate, e.fullUrl),
        );
        out.keys.push(`${type}|${next}`);
      } else {
        out.skipped.push({ type, reason: 'changed-by-others' });
        if (e.fullUrl) out.known.set(e.fullUrl, ref(theirs));
      }
    } else if (wroteBefore.has(`${type}|${key}`)) {
      out.skipped.push({ type, reason: 'deleted-by-others' });
    } else if (tplan?.create) {
      out.entries.push(post(resource, key, tplan.conditionalCreate, e.fullUrl));
      out.keys.push(`${type}|${key}`);
    } else {
      out.skipped.push({ type, reason: 'not-writable' });
    }
  }

  // Retractions: per-timepoint outputs of timepoints that no longer exist.
  for (const r of existing) {
    const key = adapterKey(r);
    const tp = key ? timepointOf(key) : undefined;
    if (!key || !tp || timepoints.has(tp) || !RETRACTABLE.has(r.resourceType)) continue;
    if ((r as { status?: string }).status === 'entered-in-error') continue;
    if (!isAsLeft(r)) {
      out.skipped.push({ type: r.resourceType, reason: 'changed-by-others' });
      continue;
    }
    const tplan = typePlanOf(plan, r.resourceType);
    if (!tplan?.update) {
      out.skipped.push({ type: r.resourceType, reason: 'not-writable' });
      continue;
    }
    // Its profile fixes the status of a result (final/current): a retracted one no longer claims it.
    const { meta, ...content } = r;
    const { profile: _profile, ...kept } = meta ?? {};
    const retracted = { ...content, meta: kept, status: 'entered-in-error' } as Resource;
    out.entries.push(put(retracted, r, tplan.ifMatch));
    out.keys.push(`${r.resourceType}|${key}`);
    out.retracted++;
  }

  if (provenance && out.entries.length > 0) {
    if (plan.types.Provenance.create) out.entries.push(provenanceFor(provenance, out.entries, plan));
    else out.skipped.push({ type: 'Provenance', reason: 'not-writable' });
  }
  // References to resources already on the server: by their id (a transaction only resolves its own fullUrls).
  out.entries = out.entries.map((e) => replaceKnown(e, out.known));
  return out;
}

/** The rendered Provenance, targeting what this write changes, tagged with what it records. */
function provenanceFor(rendered: BundleEntry, written: readonly BundleEntry[], plan: WritePlan): BundleEntry {
  const resource = rendered.resource as Resource & { target?: { reference?: string }[] };
  const targets = written.map((e) => e.fullUrl ?? e.request?.url ?? '').filter(Boolean);
  const tags = resource.meta?.tag ?? [];
  const code = digest([...tags.map((t) => t.code), ...written.map((e) => `${e.request?.method} ${e.request?.url}`)]);
  const tag = { system: tags[0]?.system ?? `${BASE}/provenance-digest`, code };
  const conditional = plan.types.Provenance.conditionalCreate;
  return {
    ...(rendered.fullUrl ? { fullUrl: rendered.fullUrl } : {}),
    resource: {
      ...resource,
      meta: { ...resource.meta, tag: [tag] },
      target: targets.map((reference) => ({ reference })),
    } as Resource,
    request: {
      method: 'POST',
      url: 'Provenance',
      ...(conditional ? { ifNoneExist: `_tag=${encodeURIComponent(`${tag.system}|${tag.code}`)}` } : {}),
    },
  };
}

function replaceKnown(entry: BundleEntry, known: ReadonlyMap<string, string>): BundleEntry {
  if (known.size === 0) return entry;
  const walk = (v: unknown, k?: string): unknown => {
    if (Array.isArray(v)) return v.map((x) => walk(x));
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([kk, x]) => [kk, walk(x, kk)]));
    return typeof v === 'string' && k === 'reference' ? (known.get(v) ?? v) : v;
  };
  return { ...entry, resource: walk(entry.resource) as Resource };
}
