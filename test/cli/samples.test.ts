/**
 * samples/: the cases are the shared ones, the transaction forms are what samples/build-transactions.ts writes,
 * and each transaction form is accepted as it is by a FHIR server (the embedded sandbox).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Bundle } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXTRA_CASES, extraCaseFiles } from '../../samples/build-extra-cases.ts';
import { transactionText } from '../../samples/build-transactions.ts';
import { type SandboxHarness, startSandbox } from '../sandbox/harness.ts';
import { CASES_DIR, caseNames, SAMPLES_DIR, TRANSACTIONS_DIR } from './case-check.ts';

const SHARED = join(SAMPLES_DIR, '..', '..', 'shared', 'cases');
const names = caseNames();
const read = (file: string) => readFileSync(file, 'utf8');

const extra = new Set(EXTRA_CASES.map((c) => c.name));

describe('samples/', () => {
  it.runIf(existsSync(SHARED)).each(names.filter((n) => !extra.has(n)))('%s is a copy of the shared case', (name) => {
    for (const suffix of ['bundle', 'expected'])
      expect(read(join(CASES_DIR, `${name}.${suffix}.json`))).toBe(read(join(SHARED, `${name}.${suffix}.json`)));
  });

  it.each(EXTRA_CASES.map((c) => [c.name, c] as const))(
    '%s (written from the seed articles) is what samples/build-extra-cases.ts writes',
    (_name, c) => {
      for (const [file, content] of Object.entries(extraCaseFiles(c)))
        expect(read(join(SAMPLES_DIR, file))).toBe(content);
    },
  );

  it('every case is either a shared one or one of the extra ones', () => {
    const shared = existsSync(SHARED) ? readdirSync(SHARED).filter((f) => f.endsWith('.bundle.json')).length : 12;
    expect(names.length).toBe(shared + extra.size);
  });

  it.each(names)('%s.transaction.json is up to date (node samples/build-transactions.ts)', (name) => {
    const bundle = JSON.parse(read(join(CASES_DIR, `${name}.bundle.json`)));
    expect(read(join(TRANSACTIONS_DIR, `${name}.transaction.json`))).toBe(transactionText(bundle));
  });

  it.each(names)('%s.transaction.json: every entry is PUT Type/id of its resource', (name) => {
    const form = JSON.parse(read(join(TRANSACTIONS_DIR, `${name}.transaction.json`))) as Bundle;
    expect(form.type).toBe('transaction');
    const urls = new Set<string>();
    for (const e of form.entry ?? []) {
      expect(e.request).toEqual({ method: 'PUT', url: `${e.resource?.resourceType}/${e.resource?.id}` });
      expect(e.fullUrl).toMatch(/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      urls.add(e.fullUrl!);
    }
    expect(urls.size).toBe(form.entry?.length);
  });
});

describe('samples/transactions POSTed to a FHIR server (the sandbox)', () => {
  let server: SandboxHarness;
  beforeAll(async () => {
    server = await startSandbox();
  });
  afterAll(async () => {
    await server?.close();
  });

  it.each(names)('%s is accepted as it is', async (name) => {
    const body = read(join(TRANSACTIONS_DIR, `${name}.transaction.json`));
    const form = JSON.parse(body) as Bundle;
    const res = await server.fhir<Bundle>('POST', '/', body);
    expect(res.status).toBe(200);
    expect(res.body.type).toBe('transaction-response');
    expect(res.body.entry?.map((e) => e.response?.status?.slice(0, 3))).toEqual(
      form.entry?.map(() => expect.stringMatching(/^20[01]$/)),
    );
    const patient = form.entry?.find((e) => e.resource?.resourceType === 'Patient')?.resource;
    const read2 = await server.fhir('GET', `/Patient/${patient?.id}`);
    expect(read2.status).toBe(200);
  });
});
