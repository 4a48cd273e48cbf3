import { readFileSync } from 'node:fs';
import type {
  CodeSystem,
  CodeSystemConcept,
  Extension,
  Resource,
  StructureDefinition,
  Subscription,
  ValueSet,
} from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import {
  BASE,
  CATEGORY_RESPONSES,
  categoryResponseCode,
  FLAGGED_STATUSES,
  INPUT,
  IRECIST_SYSTEM,
  LESION_ROLES,
  NON_TARGET_VALUE,
  OUTPUT,
  PATIENT_STATUSES,
  PROFILE,
  SUBSCRIPTION_TOPIC,
  SYSTEM,
  TIMEPOINT_RESPONSES,
  TUMOR_MARKERS,
  VALUE_SET,
} from '../../src/codes.ts';
import { OutcomeError } from '../../src/fhir-model/outcomes.ts';
import {
  canonicalUrl,
  fillPlaceholders,
  getCodeSystem,
  getProfile,
  getSubscriptionTemplates,
  getSubscriptionTopic,
  getValueSet,
  loadProfiles,
  PROFILES_DIR,
} from '../../src/profiles/load-profiles.ts';
import { validateWritten } from '../support/fhir-validation/validate.ts';

const profiles = loadProfiles();
const irecist = getCodeSystem(IRECIST_SYSTEM) as CodeSystem;
const NAMES_SYSTEM = `${BASE}/CodeSystem/immunotherapy-names`;
const README = readFileSync(`${PROFILES_DIR}README.md`, 'utf8');

const conceptOf = (code: string): CodeSystemConcept | undefined => irecist.concept?.find((c) => c.code === code);
const includedCodes = (valueSet: ValueSet | undefined, system: string): string[] =>
  (valueSet?.compose?.include ?? [])
    .filter((i) => i.system === system)
    .flatMap((i) => i.concept?.map((c) => c.code) ?? []);

/** Every string in a JSON value, with the keys it sits under. */
function strings(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) for (const v of value) strings(v, out);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      out.push(`key:${k}`);
      strings(v, out);
    }
  }
  return out;
}

describe('profiles/ files', () => {
  const r4Files = profiles.files.filter((f) => f.resource.resourceType !== 'SubscriptionTopic');

  it.each(r4Files.map((f) => [f.file, f.resource]))('%s is a valid R4 resource', (_file, resource) => {
    expect(validateWritten(resource as Resource).filter((i) => i.severity === 'error')).toEqual([]);
  });

  it.each(profiles.files.map((f) => [f.file, f.resource]))('%s is named after its kind and id', (file, resource) => {
    const id = (resource as { id?: string }).id;
    const expected =
      resource.resourceType === 'Subscription'
        ? /^Subscription-template-r4-[a-z]+\.json$/
        : `${resource.resourceType}-${id}.json`;
    expect(file).toMatch(expected);
    if (resource.resourceType !== 'Subscription') {
      expect(resource.url).toBe(`${BASE}/${resource.resourceType}/${id}`);
    }
  });

  it('is listed, every file of it, in profiles/README.md', () => {
    for (const { file } of profiles.files) expect(README).toContain(file.replace(/\.json$/, ''));
  });

  it('has exactly the expected resources', () => {
    expect(profiles.structureDefinitions.map((s) => s.url).sort()).toEqual(Object.values(PROFILE).sort());
    expect(profiles.valueSets.map((v) => v.url).sort()).toEqual(Object.values(VALUE_SET).sort());
    expect(profiles.codeSystems.map((c) => c.url).sort()).toEqual([IRECIST_SYSTEM, NAMES_SYSTEM].sort());
    expect(profiles.subscriptionTopics.map((t) => t.url)).toEqual([SUBSCRIPTION_TOPIC]);
  });
});

describe('CodeSystem irecist', () => {
  it('is complete and case sensitive, with a count that matches', () => {
    expect(irecist).toMatchObject({ content: 'complete', caseSensitive: true, count: irecist.concept?.length });
    const codes = irecist.concept?.map((c) => c.code) ?? [];
    expect(new Set(codes).size).toBe(codes.length);
  });

  const expectedCodes: [string, string][] = [
    ...TIMEPOINT_RESPONSES.map((c): [string, string] => ['timepoint response', c]),
    ...PATIENT_STATUSES.map((c): [string, string] => ['patient status', c]),
    ...LESION_ROLES.map((c): [string, string] => ['lesion role', c]),
    ['input', INPUT.nonTargetStatus.code],
    ['input', INPUT.ctdnaTumorFraction.code],
    ['input', NON_TARGET_VALUE.increased.code],
    ...Object.values(OUTPUT).map((c): [string, string] => ['output', c]),
    ...CATEGORY_RESPONSES.map((c): [string, string] => ['category response', categoryResponseCode(c)]),
  ];

  it.each(expectedCodes)('has the %s %s with a display and a definition', (_kind, code) => {
    const concept = conceptOf(code);
    expect(concept?.display?.length).toBeGreaterThan(2);
    expect(concept?.definition?.length).toBeGreaterThan(20);
  });

  it('has no code that src/codes.ts does not know', () => {
    expect((irecist.concept ?? []).map((c) => c.code).sort()).toEqual(expectedCodes.map(([, c]) => c).sort());
  });
});

describe('enumerated ValueSets', () => {
  it.each<[string, readonly string[]]>([
    [VALUE_SET.timepointResponse, TIMEPOINT_RESPONSES],
    [VALUE_SET.patientStatus, PATIENT_STATUSES],
    [VALUE_SET.flaggedStatus, FLAGGED_STATUSES],
    [VALUE_SET.lesionRole, LESION_ROLES],
  ])('%s holds exactly the codes of src/codes.ts, displayed as in the CodeSystem', (url, codes) => {
    const valueSet = getValueSet(url);
    expect(includedCodes(valueSet, IRECIST_SYSTEM)).toEqual([...codes]);
    for (const concept of valueSet?.compose?.include[0]?.concept ?? []) {
      expect(concept.display).toBe(conceptOf(concept.code)?.display);
    }
  });
});

describe('ValueSet immunotherapy', () => {
  const valueSet = getValueSet(VALUE_SET.immunotherapy) as ValueSet;
  const names = getCodeSystem(NAMES_SYSTEM) as CodeSystem;

  it.each([
    ['1547545', 'pembrolizumab'],
    ['1597876', 'nivolumab'],
    ['1792776', 'atezolizumab'],
  ])('recognises RxNorm %s (%s)', (code, display) => {
    const concept = valueSet.compose?.include
      .find((i) => i.system === SYSTEM.rxnorm)
      ?.concept?.find((c) => c.code === code);
    expect(concept?.display).toBe(display);
  });

  it.each(['L01FF', 'L01FY', 'L01XL'])('includes the ATC group %s* as an is-a filter', (group) => {
    expect(valueSet.compose?.include).toContainEqual({
      system: SYSTEM.atc,
      filter: [{ property: 'concept', op: 'is-a', value: group }],
    });
  });

  it('includes the single ATC codes of the contract', () => {
    expect(includedCodes(valueSet, SYSTEM.atc).sort()).toEqual(
      ['L01FX04', 'L01FX20', 'L03AB04', 'L03AB05', 'L03AC01', 'L03AX03', 'L03AX17'].sort(),
    );
  });

  it('lists every name of the names CodeSystem, with its display and designations', () => {
    const include = valueSet.compose?.include.find((i) => i.system === NAMES_SYSTEM);
    expect(include?.concept).toEqual(
      names.concept?.map(({ code, display, designation }) => ({
        code,
        display,
        ...(designation ? { designation } : {}),
      })),
    );
    expect(names).toMatchObject({ content: 'complete', count: names.concept?.length });
  });

  it.each(['gilvetmab', 'Oncept', 'pembrolizumab', 'cemiplimab', 'tisagenlecleucel', 'axicabtagene ciloleucel'])(
    'knows %s by name',
    (name) => {
      expect(names.concept?.map((c) => c.display)).toContain(name);
    },
  );

  it('gives every explicit RxNorm and ATC concept a display (the generic name)', () => {
    for (const include of valueSet.compose?.include ?? []) {
      for (const concept of include.concept ?? []) expect(concept.display?.length).toBeGreaterThan(2);
    }
  });
});

describe('StructureDefinitions', () => {
  it.each(Object.entries(PROFILE))('%s is a differential-only constraint on the right base', (_key, url) => {
    const sd = getProfile(url) as StructureDefinition;
    const types: Record<string, string> = {
      [PROFILE.lesionRole]: 'Extension',
      [PROFILE.irecistResponse]: 'Extension',
      [PROFILE.irecistPatientStatus]: 'Extension',
      [PROFILE.report]: 'DiagnosticReport',
      [PROFILE.timepointResponse]: 'Observation',
      [PROFILE.flag]: 'Flag',
      [PROFILE.diseaseStatus]: 'Observation',
      [PROFILE.reportDocument]: 'DocumentReference',
    };
    const type = types[url];
    expect(sd).toMatchObject({
      derivation: 'constraint',
      fhirVersion: '4.0.1',
      abstract: false,
      kind: type === 'Extension' ? 'complex-type' : 'resource',
      type,
      baseDefinition: `http://hl7.org/fhir/StructureDefinition/${type}`,
    });
    expect(sd.snapshot).toBeUndefined();
    expect(sd.differential?.element.length).toBeGreaterThan(2);
  });

  it('binds the lesion-role extension, in the context of Observation, to the lesion-role ValueSet', () => {
    const sd = getProfile(PROFILE.lesionRole) as StructureDefinition;
    expect(sd.context).toEqual([{ type: 'element', expression: 'Observation' }]);
    expect(sd.differential?.element.find((e) => e.id === 'Extension.value[x]')).toMatchObject({
      min: 1,
      type: [{ code: 'code' }],
      binding: { strength: 'required', valueSet: VALUE_SET.lesionRole },
    });
  });
});

describe('SubscriptionTopic irecist-inputs', () => {
  const topic = getSubscriptionTopic(SUBSCRIPTION_TOPIC);
  const resources = ['Observation', 'ImagingStudy', 'MedicationAdministration', 'BodyStructure'];

  it.each(resources)('triggers on create, update and delete of %s and can filter it by patient', (type) => {
    const trigger = topic?.resourceTrigger.find(
      (t) => t.resource === `http://hl7.org/fhir/StructureDefinition/${type}`,
    );
    expect(trigger?.supportedInteraction).toEqual(['create', 'update', 'delete']);
    expect(topic?.canFilterBy).toContainEqual(
      expect.objectContaining({
        resource: `http://hl7.org/fhir/StructureDefinition/${type}`,
        filterParameter: 'patient',
      }),
    );
  });

  it.each([
    `${SYSTEM.loinc}|${INPUT.tumorSize.code}`,
    `${SYSTEM.loinc}|${INPUT.ecog.code}`,
    ...Object.keys(TUMOR_MARKERS).map((c) => `${SYSTEM.loinc}|${c}`),
    `${IRECIST_SYSTEM}|${INPUT.nonTargetStatus.code}`,
    `${IRECIST_SYSTEM}|${INPUT.ctdnaTumorFraction.code}`,
  ])('watches Observations coded %s', (token) => {
    const observation = topic?.resourceTrigger.find((t) => t.resource.endsWith('/Observation'));
    expect(observation?.queryCriteria?.current?.replace(/^code=/, '').split(',')).toContain(token);
    expect(observation?.queryCriteria?.previous).toBe(observation?.queryCriteria?.current);
  });

  it('is an active R5-shaped resource', () => {
    expect(topic).toMatchObject({ resourceType: 'SubscriptionTopic', id: 'irecist-inputs', status: 'active' });
  });
});

describe('Subscription templates', () => {
  const templates = getSubscriptionTemplates();
  const byName = Object.fromEntries(templates.map((t) => [t.name, t.subscription]));

  it('has one classic rest-hook template per watched query and one Backport topic-based template', () => {
    expect(Object.keys(byName).sort()).toEqual([
      'r4-backport',
      'r4-bodystructure',
      'r4-imagingstudy',
      'r4-medicationadministration',
      'r4-observation',
    ]);
    expect(byName['r4-imagingstudy']?.criteria).toBe('ImagingStudy');
    expect(byName['r4-medicationadministration']?.criteria).toBe('MedicationAdministration');
    expect(byName['r4-bodystructure']?.criteria).toBe('BodyStructure');
    expect(byName['r4-observation']?.criteria).toBe(
      `Observation?${getSubscriptionTopic(SUBSCRIPTION_TOPIC)?.resourceTrigger[0]?.queryCriteria?.current}`,
    );
  });

  it('points the Backport template at the topic with full-resource payloads, a heartbeat and a max count', () => {
    const backport = byName['r4-backport'] as Subscription & {
      channel: Subscription['channel'] & { _payload?: { extension?: Extension[] } };
    };
    const ext = (url: string) =>
      backport.channel.extension?.find(
        (e) => e.url === `http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/${url}`,
      );
    expect(backport.criteria).toBe(SUBSCRIPTION_TOPIC);
    expect(backport.meta?.profile).toEqual([
      'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription',
    ]);
    expect(backport.channel._payload?.extension).toEqual([
      {
        url: 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-payload-content',
        valueCode: 'full-resource',
      },
    ]);
    expect(ext('backport-heartbeat-period')?.valueUnsignedInt).toBeGreaterThan(0);
    expect(ext('backport-max-count')?.valuePositiveInt).toBeGreaterThan(0);
  });

  it.each(templates.map((t) => [t.name, t.subscription]))(
    '%s uses documented placeholders, only inside string values',
    (_name, subscription) => {
      const all = strings(subscription);
      const placeholders = all.flatMap((s) => s.match(/\{\{[A-Z_]+\}\}/g) ?? []);
      expect(placeholders.length).toBeGreaterThan(0);
      for (const p of placeholders) expect(README).toContain(p);
      expect(all.filter((s) => s.startsWith('key:') && s.includes('{{'))).toEqual([]);
      expect(subscription.channel).toMatchObject({
        type: 'rest-hook',
        endpoint: '{{PUBLIC_URL}}/notifications',
        header: ['Authorization: Bearer {{WEBHOOK_SECRET}}'],
      });
    },
  );
});

describe('load-profiles', () => {
  it('reads the files once (the same frozen objects every time)', () => {
    expect(loadProfiles()).toBe(profiles);
    expect(Object.isFrozen(profiles.files[0]?.resource)).toBe(true);
    expect(getProfile(PROFILE.flag)).toBe(getProfile(PROFILE.flag));
  });

  it('finds resources by canonical URL, with or without a version', () => {
    expect(getProfile(`${PROFILE.report}|0.1.0`)?.url).toBe(PROFILE.report);
    expect(getValueSet(`${VALUE_SET.lesionRole}|0.1.0`)?.url).toBe(VALUE_SET.lesionRole);
    expect(getCodeSystem(IRECIST_SYSTEM)?.id).toBe('irecist');
    expect(getProfile('http://example.org/StructureDefinition/x')).toBeUndefined();
    expect(canonicalUrl('http://a/b|1.0')).toBe('http://a/b');
  });

  it('fills the placeholders of a template into a fresh copy', () => {
    const template = getSubscriptionTemplates().find((t) => t.name === 'r4-observation')?.subscription;
    const filled = fillPlaceholders(template, { PUBLIC_URL: 'https://adapter.example.org', WEBHOOK_SECRET: 's3cret' });
    expect(filled?.channel).toMatchObject({
      endpoint: 'https://adapter.example.org/notifications',
      header: ['Authorization: Bearer s3cret'],
    });
    expect(template?.channel.endpoint).toBe('{{PUBLIC_URL}}/notifications');
  });

  it('refuses to leave a placeholder unfilled', () => {
    const template = getSubscriptionTemplates()[0]?.subscription;
    expect(() => fillPlaceholders(template, { PUBLIC_URL: 'https://adapter.example.org' })).toThrow(OutcomeError);
  });
});
