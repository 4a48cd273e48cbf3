/**
 * Every system URL and code the adapter reads or writes, in one place (contract section 1 and 2).
 * The code values are part of the external contract: tests and hospitals match them.
 */

export const BASE = 'https://irecist-adapter.dev/fhir';
export const IRECIST_SYSTEM = `${BASE}/CodeSystem/irecist`;
export const IDENTIFIER_SYSTEM = `${BASE}/identifier`;

export const PROFILE = {
  lesionRole: `${BASE}/StructureDefinition/lesion-role`,
  report: `${BASE}/StructureDefinition/response-assessment-report`,
  timepointResponse: `${BASE}/StructureDefinition/timepoint-response`,
  flag: `${BASE}/StructureDefinition/progression-flag`,
  diseaseStatus: `${BASE}/StructureDefinition/disease-status`,
  reportDocument: `${BASE}/StructureDefinition/report-document`,
  irecistResponse: `${BASE}/StructureDefinition/irecist-response`,
  irecistPatientStatus: `${BASE}/StructureDefinition/irecist-patient-status`,
} as const;

export const VALUE_SET = {
  immunotherapy: `${BASE}/ValueSet/immunotherapy`,
  timepointResponse: `${BASE}/ValueSet/timepoint-response`,
  patientStatus: `${BASE}/ValueSet/patient-status`,
  flaggedStatus: `${BASE}/ValueSet/flagged-status`,
  lesionRole: `${BASE}/ValueSet/lesion-role`,
} as const;

export const SUBSCRIPTION_TOPIC = `${BASE}/SubscriptionTopic/irecist-inputs`;
/** What the sandbox shows instead of a credential in a Subscription (header value, secret extension). */
export const MASKED_SECRET = '***';

export const SYSTEM = {
  loinc: 'http://loinc.org',
  snomed: 'http://snomed.info/sct',
  ucum: 'http://unitsofmeasure.org',
  dicom: 'http://dicom.nema.org/resources/ontology/DCM',
  rxnorm: 'http://www.nlm.nih.gov/research/umls/rxnorm',
  atc: 'http://www.whocc.no/atc',
  flagCategory: 'http://terminology.hl7.org/CodeSystem/flag-category',
  flagPriority: 'http://hl7.org/fhir/flag-priority-code',
  observationCategory: 'http://terminology.hl7.org/CodeSystem/observation-category',
  provenanceActivity: 'http://terminology.hl7.org/CodeSystem/v3-DataOperation',
  provenanceAgentType: 'http://terminology.hl7.org/CodeSystem/provenance-participant-type',
} as const;

export const EXTENSION = {
  patientAnimal: 'http://hl7.org/fhir/StructureDefinition/patient-animal',
  flagDetail: 'http://hl7.org/fhir/StructureDefinition/flag-detail',
  flagPriority: 'http://hl7.org/fhir/StructureDefinition/flag-priority',
  lesionRole: PROFILE.lesionRole,
  /** mCODE STU3/STU4 CancerDiseaseStatusEvidenceType (the same URL in both). */
  mcodeEvidenceType: 'http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-cancer-disease-status-evidence-type',
  irecistResponse: PROFILE.irecistResponse,
  irecistPatientStatus: PROFILE.irecistPatientStatus,
} as const;

/**
 * mCODE CancerDiseaseStatus (STU3/STU4): LOINC 97509-4, value from ConditionStatusTrendVS (SNOMED CT), evidence type
 * from CancerDiseaseStatusEvidenceTypeVS. https://hl7.org/fhir/us/mcode/StructureDefinition-mcode-cancer-disease-status.html
 */
export const MCODE = {
  cancerDiseaseStatusProfile: 'http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-cancer-disease-status',
  code: { system: 'http://loinc.org', code: '97509-4', display: 'Cancer disease progression' },
  improved: { system: 'http://snomed.info/sct', code: '268910001', display: "Patient's condition improved" },
  stable: { system: 'http://snomed.info/sct', code: '359746009', display: "Patient's condition stable" },
  worsened: { system: 'http://snomed.info/sct', code: '271299001', display: "Patient's condition worsened" },
  undetermined: { system: 'http://snomed.info/sct', code: '709137006', display: 'Patient condition undetermined' },
  imaging: { system: 'http://snomed.info/sct', code: '363679005', display: 'Imaging' },
} as const;

/** The report DocumentReference: LOINC 18748-4 and US Core's clinical-note category. */
export const REPORT_DOCUMENT = {
  type: { system: 'http://loinc.org', code: '18748-4', display: 'Diagnostic imaging study' },
  category: {
    system: 'http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category',
    code: 'clinical-note',
    display: 'Clinical Note',
  },
} as const;

/** Input codes (contract section 1). */
export const INPUT = {
  tumorSize: { system: SYSTEM.loinc, code: '21889-1' },
  longestDiameter: { system: SYSTEM.loinc, code: '33728-7' },
  shortAxis: { system: SYSTEM.snomed, code: '103340004' },
  lymphNode: { system: SYSTEM.snomed, code: '59441001' },
  dog: { system: SYSTEM.snomed, code: '448771007' },
  nonTargetStatus: { system: IRECIST_SYSTEM, code: 'non-target-lesion-status' },
  ctdnaTumorFraction: { system: IRECIST_SYSTEM, code: 'ctdna-tumor-fraction' },
  ecog: { system: SYSTEM.loinc, code: '89247-1' },
} as const;

/** Tumour markers whose trend the report shows (LOINC). */
export const TUMOR_MARKERS: Record<string, string> = {
  '2039-6': 'CEA',
  '10334-1': 'CA-125',
  '2857-1': 'PSA',
  '24108-3': 'CA 19-9',
  '2532-0': 'LDH',
};

/**
 * Measurement methods (Observation.method) whose sizes count: imaging and clinical examination (rules.md, "RECIST 1.1
 * per timepoint"). SNOMED CT codes from mCODE's TumorSizeMethodVS and common imaging procedures; DICOM modalities.
 */
export const COUNTED_METHODS: Record<string, string> = {
  [`${SYSTEM.snomed}|77477000`]: 'computed tomography',
  [`${SYSTEM.snomed}|113091000`]: 'magnetic resonance imaging',
  [`${SYSTEM.snomed}|82918005`]: 'positron emission tomography',
  [`${SYSTEM.snomed}|450436003`]: 'PET/CT',
  [`${SYSTEM.snomed}|16310003`]: 'ultrasonography',
  [`${SYSTEM.snomed}|363679005`]: 'imaging',
  [`${SYSTEM.snomed}|363680008`]: 'radiography',
  [`${SYSTEM.snomed}|5880005`]: 'physical examination',
  [`${SYSTEM.snomed}|44056008`]: 'caliper',
  [`${SYSTEM.loinc}|LP29684-5`]: 'radiology',
  [`${SYSTEM.dicom}|CT`]: 'computed tomography',
  [`${SYSTEM.dicom}|MR`]: 'magnetic resonance imaging',
  [`${SYSTEM.dicom}|PT`]: 'positron emission tomography',
  [`${SYSTEM.dicom}|US`]: 'ultrasonography',
};

/** Methods that measure a specimen, not the patient: such sizes are listed as not used (mCODE TumorSizeMethodVS). */
export const SPECIMEN_METHODS: Record<string, string> = {
  [`${SYSTEM.snomed}|787377000`]: 'gross examination of a tissue specimen',
  [`${SYSTEM.snomed}|104157003`]: 'light microscopy',
  [`${SYSTEM.snomed}|168455000`]: 'gross pathology',
};

/** Non-target lesion status values (DICOM, plus our "increased"). */
export const NON_TARGET_VALUE = {
  absent: { system: SYSTEM.dicom, code: '112045' },
  present: { system: SYSTEM.dicom, code: '112046' },
  unequivocalProgression: { system: SYSTEM.dicom, code: '112047' },
  increased: { system: IRECIST_SYSTEM, code: 'increased' },
} as const;

/** Target-lesion category responses (DICOM CID 6144) where a code exists. */
export const DICOM_TARGET_RESPONSE = { CR: '112040', PR: '112041', PD: '112042', SD: '112043' } as const;
/** Non-target category responses (DICOM CID 6144). */
export const DICOM_NON_TARGET_RESPONSE = { CR: '112045', 'non-CR-non-PD': '112046', PD: '112047' } as const;

/** Output codes, all in IRECIST_SYSTEM. */
export const TIMEPOINT_RESPONSES = ['iCR', 'iPR', 'iSD', 'iNN', 'iUPD', 'iCPD', 'NE'] as const;
export const PATIENT_STATUSES = [
  'responding',
  'stable',
  'not-evaluable',
  'possible-pseudoprogression',
  'pseudoprogression',
  'confirmed-progression',
  'hyperprogression',
] as const;
export const FLAGGED_STATUSES = [
  'possible-pseudoprogression',
  'pseudoprogression',
  'confirmed-progression',
  'hyperprogression',
] as const;
export const LESION_ROLES = ['target', 'non-target', 'new'] as const;

/** Codes for the timepoint Observation and its components, all in IRECIST_SYSTEM. */
export const OUTPUT = {
  timepointResponse: 'timepoint-response',
  sumOfDiameters: 'sum-of-diameters',
  changeFromBaseline: 'change-from-baseline',
  changeFromNadir: 'change-from-nadir',
  newLesionCount: 'new-lesion-count',
  newLesionTargetSum: 'new-lesion-target-sum',
  targetResponse: 'target-response',
  nonTargetResponse: 'non-target-response',
  newLesionResponse: 'new-lesion-response',
  patientStatus: 'patient-status',
  tumorGrowthRate: 'tumor-growth-rate',
} as const;

/** DiagnosticReport category: LOINC LP29684-5 Radiology. */
export const RADIOLOGY_CATEGORY = { system: SYSTEM.loinc, code: 'LP29684-5', display: 'Radiology' } as const;

/**
 * Per-category responses (target, non-target, new lesions) in IRECIST_SYSTEM; written beside the DICOM code
 * where one exists. `none` = the category does not apply (no such lesions). `increased` = a non-target increase short
 * of unequivocal progression (rules.md: shown as an increase, never as non-CR/non-PD).
 */
export const CATEGORY_RESPONSES = ['CR', 'PR', 'SD', 'PD', 'non-CR-non-PD', 'increased', 'NE', 'none'] as const;
export const categoryResponseCode = (r: (typeof CATEGORY_RESPONSES)[number]): string => `category-${r}`;
