/**
 * The decision-support source attributes of the cards (ONC's source attributes: citation, developer, version,
 * inputs used, no demographic inputs) and the override reasons offered. Kept here until the engine exposes its own
 * decision-support source module; then this file re-exports it.
 */
import { BASE } from '../codes.ts';
import { ADAPTER_NAME, ADAPTER_VERSION } from '../version.ts';

export const IRECIST_CITATION =
  'Seymour L, Bogaerts J, Perrone A, et al. iRECIST: guidelines for response criteria for use in trials testing ' +
  'immunotherapeutics. Lancet Oncol 2017;18(3):e143-e152.';

/** The card's `source`: label, the guideline's link, and a topic for filtering. */
export const CARD_SOURCE = {
  label: `${ADAPTER_NAME}: iRECIST (Seymour et al., Lancet Oncol 2017)`,
  url: 'https://doi.org/10.1016/S1470-2045(17)30074-8',
  topic: {
    system: `${BASE}/CodeSystem/cds-topic`,
    code: 'tumour-response',
    display: 'Tumour response to immunotherapy (iRECIST)',
  },
} as const;

/** Why a clinician may dismiss a card; the reasons come back in feedback and are counted. */
export const OVERRIDE_REASONS = [
  {
    system: `${BASE}/CodeSystem/cds-override-reason`,
    code: 'measurements-disputed',
    display: 'Measurements incomplete or disputed',
  },
  {
    system: `${BASE}/CodeSystem/cds-override-reason`,
    code: 'clinical-judgement',
    display: 'Clinical assessment differs',
  },
  { system: `${BASE}/CodeSystem/cds-override-reason`, code: 'already-addressed', display: 'Already addressed' },
] as const;

/** The source statement closing every card's detail (plain text). */
export function sourceStatement(): string {
  return (
    `Computed automatically by ${ADAPTER_NAME} ${ADAPTER_VERSION} from the FHIR record; not reviewed by a clinician. ` +
    `Criteria: RECIST 1.1 and iRECIST: ${IRECIST_CITATION} Inputs: tumour measurements, imaging studies, ` +
    'immunotherapy administrations, ctDNA, ECOG and tumour markers; no demographic inputs (species only selects ' +
    'the confirmation interval).'
  );
}
