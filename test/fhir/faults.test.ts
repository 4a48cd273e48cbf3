import { OperationOutcomeError as MedplumOperationOutcomeError, serverError } from '@medplum/core';
import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createFhirClient } from '../../src/fhir/client-factory.ts';
import { FhirRequestError, isRetryable, parseRetryAfter } from '../../src/fhir/http-error.ts';
import { readPatientContext } from '../../src/fhir/read-patient-context.ts';
import { writeResults } from '../../src/fhir/write-results.ts';
import { badRequest, OutcomeError, outcome } from '../../src/fhir-model/outcomes.ts';

const BASE = 'http://fhir.test/fhir';
const bundle = {
  resourceType: 'Bundle' as const,
  type: 'transaction' as const,
  entry: [{ resource: { resourceType: 'Patient' as const }, request: { method: 'POST' as const, url: 'Patient' } }],
};
/**
 * The global fetch without the abort signal: nock 15's interceptor and undici's abort handling trip over each
 * other (an internal undici assertion; compare nock issue 2949), so the factory's own race against the signal
 * is what ends the request here, as it would for any fetch that ignores signals.
 */
const signalFreeFetch = (url: string, init?: RequestInit) => fetch(url, { ...init, signal: undefined });
const client = (timeoutMs = 5000) =>
  createFhirClient({ port: 0, fhir: { baseUrl: BASE, timeoutMs, auth: { mode: 'none' } } }, { fetch: signalFreeFetch });

beforeAll(() => nock.disableNetConnect());
afterEach(() => {
  nock.abortPendingRequests();
  nock.cleanAll();
});
afterAll(() => nock.enableNetConnect());

describe('timeouts and connection failures', () => {
  it('turns a slow server into a retryable timeout', async () => {
    nock('http://fhir.test')
      .post('/fhir')
      .delay(2000)
      .reply(200, { resourceType: 'Bundle', type: 'transaction-response', entry: [{}] });
    const started = Date.now();
    const err = (await writeResults(client(200), bundle, { transaction: true }).catch(
      (e: unknown) => e,
    )) as FhirRequestError;
    expect(Date.now() - started).toBeLessThan(1500);
    expect(err).toBeInstanceOf(FhirRequestError);
    expect(err).toMatchObject({ status: 504, retryable: true, message: 'FHIR server did not answer in time' });
    expect(isRetryable(err)).toBe(true);
  });

  it('turns a slow context read into a retryable timeout', async () => {
    nock('http://fhir.test').post('/fhir').delay(2000).reply(200, {});
    const err = await readPatientContext(client(200), 'p1', { batch: true }).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 504, retryable: true });
  });

  it('turns a connection error into a retryable error', async () => {
    nock('http://fhir.test').get('/fhir/Patient/p1').replyWithError('socket hang up');
    const err = await client()
      .readResource('Patient', 'p1')
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 503, retryable: true, message: 'FHIR server could not be reached' });
  });
});

describe('exotic answers', () => {
  it('classifies a non-JSON 404 and keeps Retry-After on a 429', async () => {
    nock('http://fhir.test').get('/fhir/Patient/p1').reply(404, '<html>nope</html>', { 'content-type': 'text/html' });
    await expect(client().readResource('Patient', 'p1')).rejects.toMatchObject({ status: 404, retryable: false });
    nock('http://fhir.test').post('/fhir').reply(429, '', { 'retry-after': '5' });
    await expect(writeResults(client(), bundle, { transaction: true })).rejects.toMatchObject({
      status: 429,
      retryAfterMs: 5000,
    });
  });

  it('rejects a transaction response that does not match the request', async () => {
    nock('http://fhir.test')
      .post('/fhir')
      .reply(200, { resourceType: 'Bundle', type: 'transaction-response', entry: [] });
    await expect(writeResults(client(), bundle, { transaction: true })).rejects.toMatchObject({
      retryable: false,
      message: 'FHIR server transaction response malformed',
    });
  });

  it('follows relative next links against the base URL', async () => {
    const searchset = (id: string, next?: string) => ({
      resourceType: 'Bundle',
      type: 'searchset',
      link: next ? [{ relation: 'next', url: next }] : [],
      entry: [{ resource: { resourceType: 'Observation', id } }],
    });
    const empty = { resourceType: 'Bundle', type: 'searchset', entry: [] };
    nock('http://fhir.test')
      .post('/fhir')
      .reply(200, {
        resourceType: 'Bundle',
        type: 'batch-response',
        entry: [
          { resource: { resourceType: 'Patient', id: 'p1' }, response: { status: '200' } },
          { resource: searchset('o1', 'Observation?_page_token=abc'), response: { status: '200' } },
          ...[1, 2, 3, 4].map(() => ({ resource: empty, response: { status: '200' } })),
        ],
      })
      .get('/fhir/Observation')
      .query({ _page_token: 'abc' })
      .reply(200, searchset('o2'));
    const resources = await readPatientContext(client(), 'p1', { batch: true });
    expect(resources.map((r) => r.id)).toEqual(['p1', 'o1', 'o2']);
    expect(nock.isDone()).toBe(true);
  });
});

describe('isRetryable', () => {
  it.each([
    ['a final FhirRequestError', new FhirRequestError(outcome('invalid', 'x'), 400, { retryable: false }), false],
    ['a retryable FhirRequestError', new FhirRequestError(outcome('transient', 'x'), 503, { retryable: true }), true],
    ['our bad request', badRequest('x'), false],
    ['our internal error', new OutcomeError(outcome('exception', 'Internal error'), 500), false],
    ['our transient error', new OutcomeError(outcome('transient', 'x')), true],
    ["medplum's server error", new MedplumOperationOutcomeError(serverError(new Error('x'))), false],
    ["medplum's transient error", new MedplumOperationOutcomeError(outcome('transient', 'x')), true],
    ['a TimeoutError', Object.assign(new Error('t'), { name: 'TimeoutError' }), true],
    ['fetch failed', new TypeError('fetch failed'), true],
    ['a bug', new TypeError('x is undefined'), false],
    ['nothing', undefined, false],
  ])('%s → %s', (_name, err, expected) => {
    expect(isRetryable(err)).toBe(expected);
  });

  it('parses Retry-After', () => {
    expect(parseRetryAfter('120')).toBe(120_000);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', Date.parse('Wed, 21 Oct 2015 07:27:00 GMT'))).toBe(60_000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
  });
});
