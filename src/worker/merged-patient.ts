/**
 * A Patient merged into another (issue #11 item 3): `active` false with a `replaced-by` link
 * (https://hl7.org/fhir/R4/patient-definitions.html#Patient.link). Such a record is not assessed; the adapter's active
 * Flag on it is set inactive (only while still as the adapter left it, and where the server takes Flag updates), and
 * the surviving record is assessed instead, with all the data the merge moved to it.
 */
import type { MedplumClient } from '@medplum/core';
import type { Flag, Patient, Resource } from '@medplum/fhirtypes';
import type { Capabilities } from '../fhir/capabilities.ts';
import { isAsLeft, withDigest } from '../fhir/ownership.ts';
import { isAdapterWritten, patientIdFromReference } from '../fhir-model/resource-owner.ts';

/**
 * The surviving record's id when the Patient was merged away, else undefined.
 * @param patient - The Patient as read.
 */
export function survivorOf(patient: Resource | undefined): string | undefined {
  if (patient?.resourceType !== 'Patient' || (patient as Patient).active !== false) return undefined;
  const link = (patient as Patient).link?.find((l) => l.type === 'replaced-by');
  return link ? patientIdFromReference(link.other) : undefined;
}

/** Whether the server lists Flag update (an empty table means nothing is known: assumed). */
function flagUpdatable(caps: Capabilities): boolean {
  const flag = caps.types.Flag;
  return Object.keys(caps.types).length === 0 || (flag?.interactions.includes('update') ?? false);
}

/**
 * Sets the adapter's active Flags among `resources` inactive, each only while still as the adapter left it.
 * @param client - The FHIR client.
 * @param resources - The merged-away patient's context (its Flags among them).
 * @param caps - The server's capabilities.
 * @param now - The instant the Flags end.
 * @returns How many Flags were set inactive.
 */
export async function retireMergedFlags(
  client: MedplumClient,
  resources: readonly Resource[],
  caps: Capabilities,
  now: Date = new Date(),
): Promise<number> {
  if (!flagUpdatable(caps)) return 0;
  const flags = resources.filter(
    (r): r is Flag =>
      r.resourceType === 'Flag' && isAdapterWritten(r) && (r as Flag).status === 'active' && isAsLeft(r),
  );
  for (const flag of flags) {
    const start = flag.period?.start;
    // period.end never before period.start (FHIR invariant per-1).
    const end = start && Date.parse(start) > now.getTime() ? start : now.toISOString();
    const retired = withDigest<Flag>({ ...flag, status: 'inactive', period: { ...flag.period, end } });
    await client.updateResource(
      retired,
      flag.meta?.versionId ? { headers: { 'If-Match': `W/"${flag.meta.versionId}"` } } : {},
    );
  }
  return flags.length;
}
