/**
 * The cards' `source` and the override reasons offered. The decision-support source attributes themselves (citation,
 * developer, version, inputs used, no demographic inputs) come from the one module the reports and the Flag use.
 */
import { BASE } from '../codes.ts';
import { sourceLabel, sourceStatement } from '../mapping/decision-support-source.ts';

/** The card's `source`: label, the guideline's link, and a topic for filtering. */
export const CARD_SOURCE = {
  label: sourceLabel(),
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

export { sourceStatement };
