/**
 * Synthetic patients for the benchmark: one Bundle (collection) per patient with N post-baseline timepoints,
 * 2-5 target lesions, some non-targets, immunotherapy doses every three weeks and (unless told not to) a ctDNA value
 * per scan.
 * Deterministic (a seeded generator), so every run measures the same bytes.
 */

/** Mulberry32: a small deterministic PRNG. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const DAY = 86_400_000;
const dateAt = (start: number, days: number) => new Date(start + days * DAY).toISOString().slice(0, 10);

const LOINC = 'http://loinc.org';
const SNOMED = 'http://snomed.info/sct';
const UCUM = 'http://unitsofmeasure.org';
const DICOM = 'http://dicom.nema.org/resources/ontology/DCM';
const BASE = 'https://irecist-adapter.dev/fhir';
const ORGANS = ['39607008', '10200004', '23451007', '71854001', '80891009', '59441001'];

/**
 * A Bundle for one patient with `timepoints` follow-up scans (plus a baseline), as a plain object.
 * Sizes drift slowly so the course has responses, stable stretches and the odd progression.
 */
export function syntheticBundle(
  timepoints: number,
  options: { seed?: number; ctdna?: boolean; patientId?: string } = {},
): Record<string, unknown> {
  const seed = options.seed ?? 20260101;
  const random = rng(seed);
  const pid = options.patientId ?? `bench-${timepoints}`;
  const subject = { reference: `Patient/${pid}` };
  const resources: Record<string, unknown>[] = [{ resourceType: 'Patient', id: pid, gender: 'female' }];
  const targets = 2 + Math.floor(random() * 4);
  const nonTargets = 1 + Math.floor(random() * 2);
  const start = Date.UTC(2020, 0, 6);
  const lesions: { id: string; organ: string; size: number; target: boolean }[] = [];
  for (let i = 0; i < targets + nonTargets; i++) {
    const organ = ORGANS[i % 5]!;
    const id = `${pid}-L${i}`;
    lesions.push({ id, organ, size: 15 + Math.floor(random() * 30), target: i < targets });
    resources.push({
      resourceType: 'BodyStructure',
      id,
      identifier: [{ system: 'http://example.org/lesion', value: id }],
      location: { coding: [{ system: SNOMED, code: organ }] },
      patient: subject,
    });
  }
  const interval = 42;
  const lastDay = (timepoints + 1) * interval;
  for (let d = 7, i = 0; d <= lastDay; d += 21, i++) {
    resources.push({
      resourceType: 'MedicationAdministration',
      id: `${pid}-ma${i}`,
      status: 'completed',
      medicationCodeableConcept: {
        coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '1547545', display: 'pembrolizumab' }],
      },
      subject,
      effectiveDateTime: `${dateAt(start, d)}T10:00:00Z`,
    });
  }
  for (let t = 0; t <= timepoints; t++) {
    const date = dateAt(start, t * interval);
    const study = `${pid}-s${t}`;
    resources.push({
      resourceType: 'ImagingStudy',
      id: study,
      status: 'available',
      subject,
      started: `${date}T09:00:00Z`,
    });
    for (const l of lesions) {
      if (t > 0) l.size = Math.max(0, Math.min(120, l.size + Math.round((random() - 0.55) * 6)));
      const common = {
        status: 'final',
        subject,
        effectiveDateTime: `${date}T09:30:00Z`,
        focus: [{ reference: `BodyStructure/${l.id}` }],
        derivedFrom: [{ reference: `ImagingStudy/${study}` }],
        extension: [{ url: `${BASE}/StructureDefinition/lesion-role`, valueCode: l.target ? 'target' : 'non-target' }],
      };
      if (l.target) {
        resources.push({
          resourceType: 'Observation',
          id: `${l.id}-t${t}`,
          ...common,
          code: { coding: [{ system: LOINC, code: '21889-1', display: 'Size Tumor' }] },
          component: [
            {
              code: { coding: [{ system: LOINC, code: '33728-7' }] },
              valueQuantity: { value: l.size, unit: 'mm', system: UCUM, code: 'mm' },
            },
          ],
        });
      } else {
        resources.push({
          resourceType: 'Observation',
          id: `${l.id}-t${t}`,
          ...common,
          code: { coding: [{ system: `${BASE}/CodeSystem/irecist`, code: 'non-target-lesion-status' }] },
          valueCodeableConcept: { coding: [{ system: DICOM, code: l.size > 0 ? '112046' : '112045' }] },
        });
      }
    }
    if (options.ctdna === false) continue;
    resources.push({
      resourceType: 'Observation',
      id: `${pid}-ctdna${t}`,
      status: 'final',
      code: { coding: [{ system: `${BASE}/CodeSystem/irecist`, code: 'ctdna-tumor-fraction' }] },
      subject,
      effectiveDateTime: `${date}T08:00:00Z`,
      valueQuantity: { value: Math.round(random() * 100) / 10, unit: '%', system: UCUM, code: '%' },
    });
  }
  return {
    resourceType: 'Bundle',
    type: 'collection',
    entry: resources.map((resource) => ({
      fullUrl: `http://example.org/fhir/${resource.resourceType}/${resource.id}`,
      resource,
    })),
  };
}

/** The same patient as a FHIR transaction (one PUT per resource), to load into a server. */
export function syntheticTransaction(
  timepoints: number,
  options: { seed?: number; ctdna?: boolean; patientId?: string } = {},
): Record<string, unknown> {
  const bundle = syntheticBundle(timepoints, options) as {
    entry: { resource: { resourceType: string; id: string } }[];
  };
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: bundle.entry.map(({ resource }) => ({
      resource,
      request: { method: 'PUT', url: `${resource.resourceType}/${resource.id}` },
    })),
  };
}
