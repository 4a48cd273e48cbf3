/**
 * CDS Hooks 2.0 on the running service, from the specification's own examples: discovery, patient-view with the
 * prefetch filled, without prefetch (the service reads its configured server), cards for every public case (right
 * indicator, a summary under 140 characters a clinician can act on), and feedback stored and counted in /metrics.
 * https://cds-hooks.hl7.org/2.0/
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_SUMMARY } from '../../src/cds-hooks/patient-view-cards.ts';
import { caseNames, readCase } from '../cli/case-check.ts';
import { waitForQuiet } from '../e2e/harness.ts';
import {
  CLIENT_ISS,
  type ClientKey,
  casePrefetch,
  clientJwt,
  clientKey,
  loadCase,
  patientViewRequest,
  post,
  SERVICE_PATH,
  type StartedAdapter,
  startAdapter,
} from './cds-harness.ts';

const PUBLIC_URL = 'https://adapter.example.org';
let key: ClientKey;
let adapter: StartedAdapter;
let url: string;

beforeAll(async () => {
  key = await clientKey();
  adapter = await startAdapter({
    PUBLIC_URL,
    CDS_CLIENTS: JSON.stringify([{ iss: CLIENT_ISS, jwks: { keys: [key.publicJwk] } }]),
  });
  url = adapter.service.url;
});
afterAll(async () => {
  await adapter?.stop();
});

const call = async (body: unknown, path = SERVICE_PATH) =>
  post(`${url}${path}`, body, await clientJwt(key, `${PUBLIC_URL}${path}`));

describe('discovery', () => {
  it('lists irecist-patient-view on patient-view with prefetch templates for the worker reads', async () => {
    const res = await fetch(`${url}/cds-services`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { services: Record<string, unknown>[] };
    expect(body.services).toHaveLength(1);
    expect(body.services[0]).toMatchObject({
      hook: 'patient-view',
      id: 'irecist-patient-view',
      title: 'iRECIST tumour response',
      prefetch: {
        patient: 'Patient/{{context.patientId}}',
        observation: 'Observation?subject=Patient/{{context.patientId}}&_count=1000',
        imagingStudy: 'ImagingStudy?subject=Patient/{{context.patientId}}&_count=1000',
        medicationAdministration:
          'MedicationAdministration?subject=Patient/{{context.patientId}}&_include=MedicationAdministration:medication&_count=1000',
        bodyStructure: 'BodyStructure?patient=Patient/{{context.patientId}}&_count=1000',
        flag: 'Flag?subject=Patient/{{context.patientId}}&_count=1000',
      },
    });
    expect(typeof body.services[0]?.description).toBe('string');
  });
});

describe('patient-view with prefetch', () => {
  it('answers one card for the pseudoprogression case, as the specification shapes it', async () => {
    const { patientId, prefetch } = casePrefetch('pseudoprogression');
    const res = await call(
      patientViewRequest(patientId, {
        fhirServer: 'http://hooks.smarthealthit.org:9080',
        fhirAuthorization: {
          access_token: 'some-opaque-fhir-access-token',
          token_type: 'Bearer',
          expires_in: 300,
          scope: 'user/Patient.read user/Observation.read',
          subject: 'cds-service4',
        },
        prefetch,
      }),
    );
    expect(res.status).toBe(200);
    const cards = res.body.cards as Record<string, unknown>[];
    expect(cards).toHaveLength(1);
    const card = cards[0] as Record<string, unknown>;
    expect(card.uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(card.summary).toBe('Pseudoprogression: the iUPD of 2026-03-09 was not confirmed; iPR on 2026-06-15.');
    expect(card.indicator).toBe('info');
    expect(card.source).toEqual({
      label:
        'irecist-adapter 0.1.0: iRECIST (Seymour et al. 2017), RECIST 1.1 (Eisenhauer et al. 2009), hyperprogression (Champiat et al. 2017)',
      url: 'https://doi.org/10.1016/S1470-2045(17)30074-8',
      topic: {
        system: 'https://irecist-adapter.dev/fhir/CodeSystem/cds-topic',
        code: 'tumour-response',
        display: 'Tumour response to immunotherapy (iRECIST)',
      },
    });
    expect(card.links).toEqual([
      {
        label: 'Tumour-burden charts, lesions and reports (iRECIST app)',
        url: `${PUBLIC_URL}/app/launch`,
        type: 'smart',
      },
    ]);
    const detail = card.detail as string;
    expect(detail.split('\n\n')[0]).toBe(
      '**Pseudoprogression since 2026-04-20.** Latest scan 2026-06-15: immune partial response (iPR).',
    );
    expect(detail).toContain('Next step: next assessment by 2026-08-03');
    expect(detail).toContain(
      'Not used: race, ethnicity, language, sexual orientation, gender identity, sex, date of birth',
    );
    expect((card.overrideReasons as { display: string }[]).every((r) => r.display.length > 0)).toBe(true);
  });

  it('answers no card when no scan after baseline can be assessed', async () => {
    const { patientId, prefetch } = casePrefetch('pseudoprogression');
    const noScans: Record<string, unknown> = {
      ...prefetch,
      imagingStudy: { resourceType: 'Bundle', type: 'searchset', entry: [] },
    };
    const observations = (prefetch.observation as { entry: { resource: { effectiveDateTime?: string } }[] }).entry;
    noScans.observation = {
      resourceType: 'Bundle',
      type: 'searchset',
      entry: observations.filter((e) => (e.resource.effectiveDateTime ?? '').startsWith('2026-01-05')),
    };
    const res = await call(patientViewRequest(patientId, { prefetch: noScans }));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ cards: [] });
  });

  it('answers no card when the client has no such patient (prefetch.patient null)', async () => {
    const { patientId, prefetch } = casePrefetch('pseudoprogression');
    const res = await call(patientViewRequest(patientId, { prefetch: { ...prefetch, patient: null } }));
    expect(res.body).toEqual({ cards: [] });
  });

  it.each(caseNames())('%s: the indicator of its status and a summary under 140 characters', async (name) => {
    const { expected } = readCase(name);
    const { patientId, prefetch } = casePrefetch(name);
    const res = await call(patientViewRequest(patientId, { prefetch }));
    const card = (res.body.cards as { summary: string; indicator: string }[])[0];
    const indicator = {
      hyperprogression: 'critical',
      'confirmed-progression': 'critical',
      'possible-pseudoprogression': 'warning',
      pseudoprogression: 'info',
      responding: 'info',
      stable: 'info',
    }[expected.status];
    expect(card?.indicator).toBe(indicator);
    expect(card?.summary.length).toBeLessThanOrEqual(MAX_SUMMARY);
    const [lastDate] = expected.timepoints.at(-1) as [string, string];
    expect(card?.summary).toMatch(/\d{4}-\d{2}-\d{2}/);
    expect(card?.summary).toMatch(
      {
        hyperprogression: /^Hyperprogression on /,
        'confirmed-progression': /^Confirmed progression \(iCPD\) on .*Review the immunotherapy plan\.$/,
        pseudoprogression: new RegExp(`^Pseudoprogression: the iUPD of .* was not confirmed; iPR on ${lastDate}\\.$`),
        responding: new RegExp(`^Responding to immunotherapy: i(PR|CR) on ${lastDate}, sum of diameters -`),
        stable: new RegExp(`^Stable disease \\(iSD\\) on ${lastDate}`),
      }[expected.status] as RegExp,
    );
  });

  it('refuses a prefetched Patient that is not the context patient (400)', async () => {
    const { prefetch } = casePrefetch('pseudoprogression');
    const res = await call(patientViewRequest('someone-else', { prefetch }));
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({
      resourceType: 'OperationOutcome',
      issue: [
        { details: { text: "The prefetched Patient is not the context's patient" }, expression: ['prefetch.patient'] },
      ],
    });
  });

  it('refuses a request that is not a patient-view call (400, with the path)', async () => {
    const res = await call({ hook: 'order-sign', hookInstance: 'x', context: { patientId: 'p' } });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ expression: ['hook'] }] });
  });
});

describe('patient-view without prefetch', () => {
  it('reads the configured server itself when fhirServer names it, and answers the card', async () => {
    await loadCase(`${url}/fhir/R4`, 'confirmed-progression');
    await waitForQuiet(adapter.service);
    const res = await call(patientViewRequest('confirmed-progression', { fhirServer: `${url}/fhir/R4` }));
    expect(res.status).toBe(200);
    expect(res.body.cards).toMatchObject([
      { indicator: 'critical', summary: 'Confirmed progression (iCPD) on 2026-04-20. Review the immunotherapy plan.' },
    ]);
  });

  it('answers 412 with an OperationOutcome when it can neither use the prefetch nor read a server', async () => {
    const res = await call(patientViewRequest('confirmed-progression'));
    expect(res.status).toBe(412);
    expect(res.body).toMatchObject({
      resourceType: 'OperationOutcome',
      issue: [
        {
          code: 'processing',
          details: {
            text: 'The prefetch is incomplete and no FHIR access was given (fhirServer with fhirAuthorization)',
          },
        },
      ],
    });
  });

  it('answers no card for a patient the server does not have', async () => {
    const res = await call(patientViewRequest('nobody-here', { fhirServer: `${url}/fhir/R4` }));
    expect(res.body).toEqual({ cards: [] });
  });
});

describe('feedback', () => {
  const metric = async (labels: string): Promise<number> => {
    const text = await (await fetch(`${url}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`irecist_cds_hooks_feedback_total{${labels}}`));
    return line ? Number(line.split(' ').at(-1)) : 0;
  };

  it('stores accepted and overridden feedback (the specification examples) and counts it once', async () => {
    const { patientId, prefetch } = casePrefetch('confirmed-progression');
    const cards = (await call(patientViewRequest(patientId, { prefetch }))).body.cards as { uuid: string }[];
    const uuid = cards[0]?.uuid as string;
    const overridden = 'outcome="overridden",indicator="critical",reason="clinical-judgement"';
    const before = await metric(overridden);
    const accepted = await call(
      {
        feedback: [
          {
            card: uuid,
            outcome: 'accepted',
            acceptedSuggestions: [{ id: 'e56e1945' }],
            outcomeTimestamp: '2021-12-11T10:05:31Z',
          },
        ],
      },
      `${SERVICE_PATH}/feedback`,
    );
    expect(accepted.status).toBe(200);
    const body = {
      feedback: [
        {
          card: uuid,
          outcome: 'overridden',
          overrideReason: {
            reason: {
              code: 'clinical-judgement',
              system: 'https://irecist-adapter.dev/fhir/CodeSystem/cds-override-reason',
            },
            userComment: 'A comment entered by the clinician.',
          },
          outcomeTimestamp: '2020-12-11T00:00:00Z',
        },
      ],
    };
    expect((await call(body, `${SERVICE_PATH}/feedback`)).status).toBe(200);
    expect((await call(body, `${SERVICE_PATH}/feedback`)).status).toBe(200);
    expect(await metric(overridden)).toBe(before + 1);
    const { rows } = await adapter.service.db.query<Record<string, string>>(
      `SELECT outcome, reason_code, user_comment FROM ${adapter.service.db.schema}.cds_hooks_feedback WHERE card = $1 ORDER BY outcome`,
      [uuid],
    );
    expect(rows).toEqual([
      { outcome: 'accepted', reason_code: null, user_comment: null },
      { outcome: 'overridden', reason_code: 'clinical-judgement', user_comment: 'A comment entered by the clinician.' },
    ]);
  });

  it('counts feedback on a card it never issued as unknown-card and stores nothing', async () => {
    const before = await metric('outcome="overridden",indicator="unknown-card",reason="none"');
    const res = await call(
      {
        feedback: [
          {
            card: 'f6b95768-b1c8-40dc-8385-bf3504b82ffb',
            outcome: 'overridden',
            outcomeTimestamp: '2020-12-11T00:00:00Z',
          },
        ],
      },
      `${SERVICE_PATH}/feedback`,
    );
    expect(res.status).toBe(200);
    expect(await metric('outcome="overridden",indicator="unknown-card",reason="none"')).toBe(before + 1);
  });

  it('refuses feedback that is not the specification shape (400)', async () => {
    const res = await call({ feedback: [{ card: 'x', outcome: 'ignored' }] }, `${SERVICE_PATH}/feedback`);
    expect(res.status).toBe(400);
    expect(res.body.resourceType).toBe('OperationOutcome');
  });
});
