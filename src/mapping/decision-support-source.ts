/**
 * The decision-support source attributes of the adapter's output (ONC HTI-1, 45 CFR 170.315(b)(11)(iv)(A), for an
 * evidence-based decision support intervention), in one place: the reports, the Flag, the Device in every Provenance
 * and the CDS Hooks cards' `source` all read them from here.
 */
import { ADAPTER_NAME, ADAPTER_VERSION } from '../version.ts';

/** Release date of this version of the assessment logic; changes with the version. */
export const RELEASE_DATE = '2026-12-02';

export interface DecisionSupportSource {
  name: string;
  version: string;
  releaseDate: string;
  developer: string;
  funding: string;
  /** What the intervention does, in one sentence. */
  intervention: string;
  /** Bibliographic citations of the criteria it applies. */
  citations: readonly string[];
  /** The patient data it reads. */
  inputs: readonly string[];
  /** The HTI-1 data elements it does not use. */
  notUsed: string;
}

export const DECISION_SUPPORT_SOURCE: DecisionSupportSource = {
  name: ADAPTER_NAME,
  version: ADAPTER_VERSION,
  releaseDate: RELEASE_DATE,
  developer: 'the irecist-adapter project (open source, Apache-2.0)',
  funding: 'no external funding declared',
  intervention:
    'response assessment of solid tumours on immunotherapy by iRECIST, with the tumour growth rate (hyperprogression) and supporting evidence',
  citations: [
    'Seymour L, et al. iRECIST: guidelines for response criteria for use in trials testing immunotherapeutics. Lancet Oncol 2017;18:e143-52. doi:10.1016/S1470-2045(17)30074-8',
    'Eisenhauer EA, et al. New response evaluation criteria in solid tumours: revised RECIST guideline (version 1.1). Eur J Cancer 2009;45:228-47. doi:10.1016/j.ejca.2008.10.026',
    'Champiat S, et al. Hyperprogressive disease is a new pattern of progression in cancer patients treated by anti-PD-1/PD-L1. Clin Cancer Res 2017;23:1920-8. doi:10.1158/1078-0432.CCR-16-1741',
  ],
  inputs: [
    'tumour measurements and non-target lesion statuses (Observation), with their measurement method',
    'lesion sites (BodyStructure)',
    'scan dates (ImagingStudy)',
    'immunotherapy administrations (MedicationAdministration)',
    'species, for the human or canine criteria (Patient)',
    'ctDNA, tumour markers and LDH, shown as supporting evidence only',
    'ECOG performance status, a health status assessment, used only to state clinical stability; it never changes a response code',
  ],
  notUsed:
    'race, ethnicity, language, sexual orientation, gender identity, sex, date of birth, social determinants of health',
};

const S = DECISION_SUPPORT_SOURCE;

/** The one-sentence statement every report and Flag carries. */
export function computedResultStatement(): string {
  return `Produced automatically by ${S.name} ${S.version} from the listed measurements; not reviewed by a radiologist.`;
}

/** The source attributes in one sentence, for the Flag (the full list is in the linked report). */
export function flagSourceLine(): string {
  return `Sources: iRECIST (Seymour et al. 2017), RECIST 1.1 (Eisenhauer et al. 2009), hyperprogression (Champiat et al. 2017); ${S.name} ${S.version}, released ${S.releaseDate}; no demographic or social data used; details in the linked report.`;
}

/** Short source line (e.g. a CDS Hooks card's source label). */
export function sourceLabel(): string {
  return `${S.name} ${S.version}: iRECIST (Seymour et al. 2017), RECIST 1.1 (Eisenhauer et al. 2009), hyperprogression (Champiat et al. 2017)`;
}

/** The attributes as lines of text, for a report's rendered form. */
export function sourceAttributeLines(): string[] {
  return [
    `Intervention: ${S.intervention}.`,
    `Developer: ${S.developer}. Funding: ${S.funding}.`,
    `Version: ${S.name} ${S.version}, released ${S.releaseDate}.`,
    ...S.citations.map((c) => `Citation: ${c}.`),
    `Inputs used: ${S.inputs.join('; ')}.`,
    `Not used: ${S.notUsed}.`,
  ];
}

/**
 * The source attributes in one paragraph (a CDS Hooks card's detail, the SMART app's footer): the computed-result
 * statement, the criteria, the inputs and what is not used.
 */
export function sourceStatement(): string {
  return `${computedResultStatement()} Criteria: ${S.citations.join(' ')} Inputs used: ${S.inputs.join('; ')}. Not used: ${S.notUsed}.`;
}
