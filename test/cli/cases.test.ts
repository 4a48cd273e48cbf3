/**
 * The sample cases (samples/cases, copied from ../shared/cases) through the pipeline in-process, compared with
 * CASE.expected.json the way ../shared/tools/check-cases.mjs does; the transaction forms in samples/transactions
 * give the same results; and one run of the real command line.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Bundle } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { assessBundle } from '../../src/pipeline/assess-resources.ts';
import { CASES_DIR, caseNames, caseProblems, readCase, summarise, TRANSACTIONS_DIR } from './case-check.ts';
import { runCli } from './run-cli.ts';

const NOW = '2026-07-01T00:00:00.000Z';
const names = caseNames();

describe('sample cases (in-process)', () => {
  it('has the shared cases (twelve or more)', () => {
    expect(names.length).toBeGreaterThanOrEqual(12);
  });

  it.each(names)('%s matches its expected.json', (name) => {
    const { bundle, expected } = readCase(name);
    const { transaction } = assessBundle(bundle, { now: NOW });
    expect(caseProblems(transaction, expected)).toEqual([]);
    // The same checks, spelled out, so a failure shows the whole picture.
    const { reports, activeFlags } = summarise(transaction, expected.patient);
    expect(reports.map((r) => [r.date, r.codes[0]])).toEqual(expected.timepoints);
    expect(reports.at(-1)?.codes[1]).toBe(expected.status);
    expect(activeFlags).toEqual(expected.activeFlag ? [expected.activeFlag] : []);
  });

  it.each(names)('%s: the transaction form gives the same reports and Flag', (name) => {
    const { bundle, expected } = readCase(name);
    const form = JSON.parse(readFileSync(join(TRANSACTIONS_DIR, `${name}.transaction.json`), 'utf8')) as Bundle;
    expect(form.type).toBe('transaction');
    const a = assessBundle(bundle, { now: NOW }).transaction;
    const b = assessBundle(form, { now: NOW }).transaction;
    expect(summarise(b, expected.patient)).toEqual(summarise(a, expected.patient));
    expect(b).toEqual(a);
  });
});

describe('the assess command', () => {
  it('prints the transaction on stdout and the timeline on stderr, exit 0', async () => {
    const run = await runCli(['assess', join(CASES_DIR, 'pseudoprogression.bundle.json')]);
    expect(run.status).toBe(0);
    const out = JSON.parse(run.stdout) as Bundle;
    expect(out.resourceType).toBe('Bundle');
    expect(out.type).toBe('transaction');
    const { expected } = readCase('pseudoprogression');
    expect(caseProblems(out, expected)).toEqual([]);
    const lines = run.stderr.split('\n');
    expect(lines[0]).toBe('Patient/pseudoprogression (human), immunotherapy from 2026-01-12');
    expect(lines[1]).toMatch(/^date\s+sum\s+vs baseline\s+vs nadir\s+new\s+response\s+status$/);
    expect(lines[2]).toMatch(/^2026-01-05\s+50\.0 mm\s+baseline$/);
    expect(lines[3]).toMatch(/^2026-03-09\s+64\.0 mm\s+\+28\.0%\s+\+28\.0%\s+iUPD\s+possible-pseudoprogression$/);
    expect(run.stderr).not.toMatch(/\bat .+:\d+:\d+/);
  });
});
