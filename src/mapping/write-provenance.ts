/**
 * Provenance for every write (contract section 2): the adapter as a Device agent with its version, the inputs
 * as versioned entities, activity Derivation. R4 Provenance has no identifier, so a meta.tag carries a digest
 * of targets and inputs, and a conditional create on `_tag` records one Provenance for the same write made twice.
 */
import type { BundleEntry, Provenance } from '@medplum/fhirtypes';
import { BASE, SYSTEM } from '../codes.ts';

export const PROVENANCE_TAG_SYSTEM = `${BASE}/provenance-digest`;

import { ADAPTER_NAME, ADAPTER_VERSION } from '../version.ts';
import { DECISION_SUPPORT_SOURCE, sourceAttributeLines } from './decision-support-source.ts';
import { digest, uuidFrom } from './identifiers.ts';

export function provenanceEntry(
  patientId: string,
  targets: string[],
  /** What was decided (resource keys), so rewriting an unchanged result does not record a second Provenance. */
  decided: string[],
  sources: string[],
  recorded: string,
): BundleEntry<Provenance> {
  const tag = {
    system: PROVENANCE_TAG_SYSTEM,
    code: digest({ patientId, decided, sources, v: ADAPTER_VERSION }),
  };
  const resource: Provenance = {
    resourceType: 'Provenance',
    meta: { tag: [tag] },
    contained: [
      {
        resourceType: 'Device',
        id: 'adapter',
        // The decision-support source attributes (ONC HTI-1), where an EHR's Provenance view shows them.
        manufacturer: DECISION_SUPPORT_SOURCE.developer,
        manufactureDate: DECISION_SUPPORT_SOURCE.releaseDate,
        deviceName: [{ name: ADAPTER_NAME, type: 'manufacturer-name' }],
        version: [{ value: ADAPTER_VERSION }],
        note: sourceAttributeLines().map((text) => ({ text })),
      },
    ],
    target: targets.map((reference) => ({ reference })),
    recorded,
    activity: {
      coding: [
        {
          system: 'http://terminology.hl7.org/CodeSystem/iso-21089-lifecycle',
          code: 'derive',
          display: 'Derive/Create',
        },
      ],
      text: 'Derivation',
    },
    agent: [
      {
        type: { coding: [{ system: SYSTEM.provenanceAgentType, code: 'assembler', display: 'Assembler' }] },
        who: { reference: '#adapter', display: `${ADAPTER_NAME} ${ADAPTER_VERSION}` },
      },
    ],
    entity: sources.map((reference) => ({ role: 'source', what: { reference } })),
  };
  return {
    fullUrl: `urn:uuid:${uuidFrom(`provenance|${tag.code}`)}`,
    resource,
    request: {
      method: 'POST',
      url: 'Provenance',
      ifNoneExist: `_tag=${encodeURIComponent(`${tag.system}|${tag.code}`)}`,
    },
  };
}
