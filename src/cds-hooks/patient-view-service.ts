/**
 * The one CDS Service: `irecist-patient-view` on the `patient-view` hook, with prefetch templates for exactly the
 * reads the worker makes for an assessment (src/fhir/read-patient-context.ts), so both see the same data.
 * https://cds-hooks.hl7.org/2.0/#discovery, https://cds-hooks.hl7.org/2.0/#prefetch-template
 */
import { contextRequestTemplates } from '../fhir/read-patient-context.ts';

export const SERVICE_ID = 'irecist-patient-view';
export const HOOK = 'patient-view';

const PATIENT_TOKEN = '{{context.patientId}}';

export interface PrefetchTemplate {
  key: string;
  /** The FHIR read or search, with `{{context.patientId}}`. */
  template: string;
  /** The resource type read or searched. */
  resourceType: string;
  /** True for the Patient read (a single resource, not a searchset Bundle). */
  read: boolean;
}

/** One template per context read, keyed by resource type in lower camel case (`patient`, `observation`, …). */
export const PREFETCH: readonly PrefetchTemplate[] = contextRequestTemplates(PATIENT_TOKEN).map((url, index, all) => {
  const resourceType = url.split(/[/?]/)[0] as string;
  const base = `${resourceType.charAt(0).toLowerCase()}${resourceType.slice(1)}`;
  const sameType = all.filter((u) => u.split(/[/?]/)[0] === resourceType).length > 1;
  return {
    key: sameType ? `${base}${index}` : base,
    template: url,
    resourceType,
    read: !url.includes('?'),
  };
});

/** The discovery document (`GET /cds-services`). */
export function discoveryDocument(): { services: Record<string, unknown>[] } {
  return {
    services: [
      {
        hook: HOOK,
        id: SERVICE_ID,
        title: 'iRECIST tumour response',
        description:
          "Applies RECIST 1.1 / iRECIST to the patient's tumour measurements and immunotherapy doses and returns one " +
          'card with the current response status: possible pseudoprogression, pseudoprogression, confirmed ' +
          'progression or hyperprogression, responding or stable, with the evidence and the next scan dates.',
        prefetch: Object.fromEntries(PREFETCH.map((p) => [p.key, p.template])),
        usageRequirements:
          'Signed JWT from a client listed in CDS_CLIENTS. Without the prefetch, fhirServer and fhirAuthorization ' +
          '(or fhirServer naming the FHIR server the adapter is configured for) so the service can read the data.',
      },
    ],
  };
}
