/**
 * One read round trip before the write (issue #13), over HTTP against the sandbox: the worker's context batch carries
 * the write plan's searches for the adapter's earlier results, so an assessment that writes makes 2 requests (the
 * batch read, the transaction) and one that finds nothing changed makes 1. Where a search the earlier results depend
 * on failed in that batch (the Flag search, tolerated by the context read), the write reads them apart instead of
 * reconciling against an incomplete picture: no second Flag; so does the write given a context already read (a
 * backfill from a Bulk Data export). The DiagnosticReports and DocumentReferences read with the context never reach
 * the pipeline (it would list them in the report as resources it did not use).
 */
import type { Bundle, DiagnosticReport, DocumentReference, Flag, Observation, Resource } from '@medplum/fhirtypes';
import { afterEach, describe, expect, it } from 'vitest';
import { loadIntoSandbox } from '../e2e/harness.ts';
import {
  type AnswerChange,
  adapterResources,
  expectedFor,
  loadSample,
  startWriteBench,
  type WriteBench,
  writtenByType,
} from './write-harness.ts';

const P = 'confirmed-progression';
let bench: WriteBench | undefined;
afterEach(async () => {
  await bench?.close();
  bench = undefined;
});

/** The adapter's requests since the last call, as `METHOD kind` (the CapabilityStatement read left out). */
function requestsSince(b: WriteBench): string[] {
  const out = b.requests
    .filter((r) => !r.url.endsWith('/metadata'))
    .map((r) => `${r.method} ${r.method === 'POST' && r.url === b.server.baseUrl ? 'bundle' : r.url}`);
  b.requests.length = 0;
  return out;
}

/** The server's answer, unchanged. */
const asGiven: AnswerChange = async (_request, forward) => forward();

/** Answers the context batch's Flag search 400, as a server without Flag search would; everything else as is. */
const flagSearchFails: AnswerChange = async ({ method, body }, forward) => {
  const response = await forward();
  if (method !== 'POST' || typeof body !== 'string') return response;
  const request = JSON.parse(body) as Bundle;
  if (request.type !== 'batch' || !request.entry?.[0]?.request?.url?.startsWith('Patient/')) return response;
  const answer = (await response.json()) as Bundle;
  for (const [i, e] of (request.entry ?? []).entries()) {
    if (!e.request?.url?.startsWith('Flag?') || !answer.entry?.[i]) continue;
    answer.entry[i] = {
      response: {
        status: '400 Bad Request',
        outcome: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'not-supported' }] },
      },
    };
  }
  return new Response(JSON.stringify(answer), { status: 200, headers: { 'content-type': 'application/fhir+json' } });
};

/** The kinds of the Bundles posted since the recorder was last read. */
const posted = (bodies: string[]) =>
  bodies.map((body) => {
    const b = JSON.parse(body) as Bundle;
    return b.type === 'batch' && b.entry?.[0]?.request?.url?.startsWith('Patient/') ? 'context' : (b.type as string);
  });

/** Records the bodies of the Bundles posted (answers as the server gave them, or as `then` changes them). */
function recordBodies(b: WriteBench, then: AnswerChange = asGiven): string[] {
  const bodies: string[] = [];
  b.changeAnswers(async (request, forward) => {
    if (request.method === 'POST' && typeof request.body === 'string') bodies.push(request.body);
    return then(request, forward);
  });
  return bodies;
}

describe('one read round trip before the write (medplum profile: batch and transaction)', () => {
  it('2 requests when something is written (one batch read, one transaction), 1 when nothing changed', async () => {
    bench = await startWriteBench('medplum');
    await loadSample(bench, P);
    const expected = await expectedFor(bench, P);
    const bodies = recordBodies(bench);
    requestsSince(bench);

    const first = await bench.assess(P);
    expect(first?.written).toBeGreaterThan(0);
    expect(requestsSince(bench)).toEqual(['POST bundle', 'POST bundle']);
    expect(posted(bodies.splice(0))).toEqual(['context', 'transaction']);
    expect(writtenByType(bench, P)).toEqual(expected);

    const second = await bench.assess(P);
    expect(second).toMatchObject({ written: 0, retracted: 0 });
    expect(requestsSince(bench)).toEqual(['POST bundle']);
    // The one batch read searched every written type the plan can search by patient, each once.
    const read = JSON.parse(bodies.splice(0)[0] ?? '{}') as Bundle;
    const searched = (read.entry ?? []).map((e) => e.request?.url?.split('?')[0]);
    for (const type of ['Observation', 'DiagnosticReport', 'DocumentReference', 'Flag']) {
      expect(
        searched.filter((t) => t === type),
        type,
      ).toHaveLength(1);
    }
    expect(writtenByType(bench, P)).toEqual(expected);
  });

  it('a context given (a backfill from an export): the earlier results are read apart, as before', async () => {
    bench = await startWriteBench('medplum');
    await loadSample(bench, P);
    const context = bench.server.repo
      .listCurrent<Resource>('Patient')
      .concat(bench.server.repo.listCurrent<Resource>('Observation'))
      .concat(bench.server.repo.listCurrent<Resource>('ImagingStudy'))
      .concat(bench.server.repo.listCurrent<Resource>('MedicationAdministration'))
      .concat(bench.server.repo.listCurrent<Resource>('Medication'))
      .concat(bench.server.repo.listCurrent<Resource>('BodyStructure'))
      .filter((r) => r.resourceType === 'Medication' || r.id === P || JSON.stringify(r).includes(`Patient/${P}`))
      .sort((a, b) => (a.resourceType === 'Patient' ? -1 : b.resourceType === 'Patient' ? 1 : 0));
    const bodies = recordBodies(bench);
    requestsSince(bench);
    expect((await bench.assess(P, context))?.written).toBeGreaterThan(0);
    expect(posted(bodies.splice(0))).toEqual(['batch', 'transaction']);
    expect(writtenByType(bench, P)).toEqual(await expectedFor(bench, P));
    expect((await bench.assess(P, context))?.written).toBe(0);
    expect(posted(bodies.splice(0))).toEqual(['batch']);
  });

  it('the Flag search failed in the context batch: the earlier results are read apart, no second Flag', async () => {
    bench = await startWriteBench('medplum');
    await loadSample(bench, P);
    await bench.assess(P);
    const flags = adapterResources<Flag>(bench, 'Flag', P).map((f) => `${f.id} ${f.status}`);
    expect(flags.length).toBeGreaterThan(0);
    const before = writtenByType(bench, P);

    const bodies = recordBodies(bench, flagSearchFails);
    requestsSince(bench);
    await loadIntoSandbox(bench.server.url, {
      resourceType: 'Bundle',
      type: 'collection',
      entry: [{ resource: bodyWeight('fallback') }],
    });
    const again = await bench.assess(P);
    // The context read, the earlier results read apart (the Flag search among them), the transaction.
    expect(requestsSince(bench)).toEqual(['POST bundle', 'POST bundle', 'POST bundle']);
    expect(posted(bodies.splice(0))).toEqual(['context', 'batch', 'transaction']);
    expect(again?.written).toBeGreaterThan(0);
    // The Flags are those of the first assessment, none added beside them.
    expect(adapterResources<Flag>(bench, 'Flag', P).map((f) => `${f.id} ${f.status}`)).toEqual(flags);
    expect(Object.keys(writtenByType(bench, P))).toEqual(Object.keys(before));

    // Nothing changed since: the context read and the separate read of the earlier results, no write.
    const third = await bench.assess(P);
    expect(third).toMatchObject({ written: 0, retracted: 0 });
    expect(posted(bodies.splice(0))).toEqual(['context', 'batch']);
  });

  it('DiagnosticReports, DocumentReferences read for the write never reach the pipeline: not listed as not used', async () => {
    bench = await startWriteBench('medplum');
    await loadSample(bench, P);
    // The hospital's own radiology report and a scanned letter: found by the write plan's searches, not inputs.
    await loadIntoSandbox(bench.server.url, {
      resourceType: 'Bundle',
      type: 'collection',
      entry: [{ resource: radiologyReport() }, { resource: scannedLetter() }],
    });
    await bench.assess(P);
    expect(adapterResources<DiagnosticReport>(bench, 'DiagnosticReport', P).length).toBeGreaterThan(0);
    // Something unrelated changes and the patient is assessed again, its reports rendered anew with them read.
    await loadIntoSandbox(bench.server.url, {
      resourceType: 'Bundle',
      type: 'collection',
      entry: [{ resource: bodyWeight('unrelated') }],
    });
    expect((await bench.assess(P))?.written).toBeGreaterThan(0);
    const conclusions = adapterResources<DiagnosticReport>(bench, 'DiagnosticReport', P).map((r) => r.conclusion);
    expect(conclusions.length).toBeGreaterThan(1);
    for (const conclusion of conclusions) {
      expect(conclusion).not.toMatch(/DiagnosticReport|DocumentReference/);
    }
  });
});

function radiologyReport(): DiagnosticReport {
  return {
    resourceType: 'DiagnosticReport',
    id: `${P}-radiology`,
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '18748-4', display: 'Diagnostic imaging study' }] },
    subject: { reference: `Patient/${P}` },
    effectiveDateTime: '2026-04-20',
    conclusion: 'Hospital report.',
  };
}

function scannedLetter(): DocumentReference {
  return {
    resourceType: 'DocumentReference',
    id: `${P}-letter`,
    status: 'current',
    subject: { reference: `Patient/${P}` },
    content: [{ attachment: { contentType: 'text/plain', data: 'TGV0dGVy' } }],
  };
}

function bodyWeight(suffix: string): Observation {
  return {
    resourceType: 'Observation',
    id: `${P}-weight-${suffix}`,
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '29463-7', display: 'Body weight' }] },
    subject: { reference: `Patient/${P}` },
    effectiveDateTime: '2026-04-21',
    valueQuantity: { value: 70, unit: 'kg', system: 'http://unitsofmeasure.org', code: 'kg' },
  };
}
