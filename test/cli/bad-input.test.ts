/**
 * `irecist-adapter assess` with bad input, through the real command line (contract section 3): input that is not
 * one patient's Bundle -> exit 2, an OperationOutcome on stdout, one line on stderr, no stack trace; clinical data
 * the adapter cannot use -> exit 0 and a report whose conclusion says what was not used.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bundle, DiagnosticReport, Observation, OperationOutcome, Resource } from '@medplum/fhirtypes';
import { afterAll, describe, expect, it } from 'vitest';
import { SYSTEM } from '../../src/codes.ts';
import { addDays } from '../../src/domain/dates.ts';
import {
  bodyStructure,
  bundle,
  imagingStudy,
  medicationAdministration,
  mm,
  patient,
  smallPatient,
  tumorSize,
} from '../mapping/builders.ts';
import { codesOf } from './case-check.ts';
import { ROOT, runCli } from './run-cli.ts';

const FIXTURES = join(ROOT, 'test', 'fixtures', 'bundles');
const tmp = mkdtempSync(join(tmpdir(), 'irecist-bad-input-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const writeInput = (name: string, value: unknown): string => {
  const file = join(tmp, name);
  writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value));
  return file;
};
const STACK = /\n\s+at |\.ts:\d+:\d+|node:internal/;

describe("input that is not one patient's Bundle: exit 2", () => {
  it.each<[string, () => string[], string, string]>([
    [
      'truncated JSON',
      () => ['assess', join(FIXTURES, 'truncated.bundle.json')],
      'Input is not valid JSON',
      'error: Input is not valid JSON',
    ],
    [
      'a Patient, not a Bundle',
      () => ['assess', join(FIXTURES, 'patient-not-bundle.json')],
      'Input is not a usable FHIR Bundle',
      'error: Input is not a usable FHIR Bundle (at resourceType)',
    ],
    [
      'a Bundle of type document',
      () => ['assess', join(FIXTURES, 'document-bundle.json')],
      'Input is not a usable FHIR Bundle',
      'error: Input is not a usable FHIR Bundle (at type)',
    ],
    [
      'a Bundle with two Patients',
      () => ['assess', join(FIXTURES, 'two-patients.bundle.json')],
      'The Bundle holds more than one Patient; give one patient per Bundle',
      'error: The Bundle holds more than one Patient; give one patient per Bundle',
    ],
    [
      'an empty file',
      () => ['assess', writeInput('empty.json', '')],
      'Input is not valid JSON',
      'error: Input is not valid JSON',
    ],
    [
      'JSON null',
      () => ['assess', writeInput('null.json', 'null')],
      'Input is not a usable FHIR Bundle',
      'error: Input is not a usable FHIR Bundle (at (root))',
    ],
    [
      'a Bundle whose resources name no patient',
      () => ['assess', writeInput('no-patient.json', { resourceType: 'Bundle', type: 'collection', entry: [] })],
      'The Bundle names no patient (no Patient resource and no subject reference)',
      'error: The Bundle names no patient (no Patient resource and no subject reference)',
    ],
  ])('%s', async (_name, args, text, line) => {
    const run = await runCli(args());
    expect(run.status).toBe(2);
    const outcome = JSON.parse(run.stdout) as OperationOutcome;
    expect(outcome.resourceType).toBe('OperationOutcome');
    expect(outcome.issue?.[0]?.severity).toBe('error');
    expect(outcome.issue?.[0]?.details?.text).toBe(text);
    expect(run.stderr).toBe(`${line}\n`);
    expect(run.stdout).not.toMatch(STACK);
    expect(run.stderr).not.toMatch(STACK);
  });
});

describe('a command line that cannot run: exit 2, what is wrong on stdout (OperationOutcome) and stderr', () => {
  it.each<[string, () => string[], string]>([
    [
      'a missing file',
      () => ['assess', join(tmp, 'no-such-file.json')],
      `input file ${tmp}/no-such-file.json does not exist`,
    ],
    ['a folder instead of a file', () => ['assess', tmp], `input file ${tmp} is a folder, not a file`],
    ['no file argument', () => ['assess'], 'missing FILE'],
    ['an unknown option', () => ['assess', '--bogus', 'x.json'], 'unknown option --bogus'],
  ])('%s', async (_name, args, text) => {
    const run = await runCli(args());
    expect(run.status).toBe(2);
    expect((JSON.parse(run.stdout) as OperationOutcome).issue?.[0]?.details?.text).toBe(text);
    expect(run.stderr.split('\n')).toEqual([
      `error: ${text}`,
      'Usage: irecist-adapter assess FILE',
      "Run 'irecist-adapter assess --help' for more.",
      '',
    ]);
  });
});

/** Assesses smallPatient() with its follow-up measurement of lesion L1 changed by `change`. */
async function assessVariant(name: string, change: (o: Observation) => void, extra: Resource[] = []) {
  const resources = smallPatient();
  change(resources.find((r) => r.id === 'L1-t1') as Observation);
  const run = await runCli(['assess', writeInput(`${name}.json`, bundle([...resources, ...extra]))]);
  const out = run.status === 0 ? (JSON.parse(run.stdout) as Bundle) : undefined;
  const report = out?.entry?.map((e) => e.resource).find((r) => r?.resourceType === 'DiagnosticReport') as
    | DiagnosticReport
    | undefined;
  return { run, report };
}

describe('clinical data the adapter cannot use: exit 0, the report says so', () => {
  it.each<[string, (o: Observation) => void, string]>([
    [
      'a non-numeric value',
      (o) => {
        (o.component![0]!.valueQuantity as { value: unknown }).value = '18';
      },
      'A longest-diameter measurement was not used: the value is not a number. [Observation/L1-t1]',
    ],
    [
      'an unknown unit',
      (o) => {
        o.component![0]!.valueQuantity = { value: 0.7, unit: 'in', system: SYSTEM.ucum, code: '[in_i]' };
      },
      'A longest-diameter measurement was not used: the unit is not mm or cm (UCUM). [Observation/L1-t1]',
    ],
    [
      'no unit',
      (o) => {
        o.component![0]!.valueQuantity = { value: 18 };
      },
      'A longest-diameter measurement was not used: the value has no unit. [Observation/L1-t1]',
    ],
    [
      'an Observation code the adapter does not read',
      (o) => {
        o.code = { coding: [{ system: SYSTEM.loinc, code: '8480-6' }] };
      },
      'An Observation with code http://loinc.org|8480-6 is not one the adapter reads and was not used. [Observation/L1-t1]',
    ],
    [
      'status preliminary',
      (o) => {
        o.status = 'preliminary';
      },
      'An Observation with status preliminary was not counted. [Observation/L1-t1]',
    ],
  ])('%s: NE (a target is unmeasured) and the conclusion lists the issue', async (name, change, issue) => {
    const { run, report } = await assessVariant(name.replaceAll(' ', '-'), change);
    expect(run.status).toBe(0);
    expect(report?.effectiveDateTime).toBe('2026-03-09');
    expect(codesOf(report?.conclusionCode)).toEqual(['NE', 'not-evaluable']);
    expect(report?.conclusion).toContain(`Data not used or uncertain: ${issue}`);
    expect(report?.conclusion).toContain('Target lesion(s) not measured on 2026-03-09: L1 (Lung structure).');
    expect(run.stderr).toContain(`note: ${issue}\n`);
  });

  it('an unreadable extra Observation does not change the response, and is listed', async () => {
    const bp: Observation = {
      resourceType: 'Observation',
      id: 'bp1',
      status: 'final',
      code: { coding: [{ system: SYSTEM.loinc, code: '8480-6' }] },
      subject: { reference: 'Patient/p1' },
      effectiveDateTime: '2026-03-09',
      valueQuantity: { value: 120, unit: 'mm[Hg]' },
    };
    const { run, report } = await assessVariant('extra-observation', () => undefined, [bp]);
    expect(run.status).toBe(0);
    expect(codesOf(report?.conclusionCode)).toEqual(['iPR', 'responding']);
    expect(report?.conclusion).toContain(
      'An Observation with code http://loinc.org|8480-6 is not one the adapter reads and was not used. [Observation/bp1]',
    );
  });
});

describe('a Bundle that yields no report: every data-quality note on stderr, one line each, exit 0', () => {
  it('a baseline scan with one unusable measurement', async () => {
    const o = tumorSize('o1', { lesion: 'L1', date: '2026-01-05', study: 's0', ld: { value: 2, unit: 'in' } });
    const input = bundle([patient(), bodyStructure('L1'), imagingStudy('s0', '2026-01-05'), o]);
    const run = await runCli(['assess', writeInput('baseline-only.json', input)]);
    expect(run.status).toBe(0);
    const out = JSON.parse(run.stdout) as Bundle;
    expect(out.entry?.filter((e) => e.resource?.resourceType === 'DiagnosticReport')).toEqual([]);
    expect(run.stderr.split('\n').filter((l) => l.startsWith('note: '))).toEqual([
      'note: A longest-diameter measurement was not used: the unit is not mm or cm (UCUM). [Observation/o1]',
      'note: No immunotherapy administration was found; the first scan is used as baseline.',
      'note: Lesion roles were inferred (no lesion-role extension): measurable baseline lesions became targets, largest first, at most 5 and 2 per organ.',
      'note: 2026-01-05: No lesion was recorded at baseline; responses cannot be evaluated.',
    ]);
  });
});

describe('a large Bundle', () => {
  it('10,000 tumour-size Observations (4 lesions x 2,500 scans): exit 0 within seconds, no crash', async () => {
    const resources: Resource[] = [patient(), medicationAdministration('ma1', '2020-01-10')];
    for (let l = 0; l < 4; l++)
      resources.push(bodyStructure(`L${l}`, { coding: [{ system: SYSTEM.snomed, code: String(10_000 + l) }] }));
    for (let i = 0; i < 2500; i++) {
      const date = addDays('2020-01-05', i * 7);
      for (let l = 0; l < 4; l++)
        resources.push(
          tumorSize(`o${i}-${l}`, { lesion: `L${l}`, date, ld: mm(20 + ((i * 7 + l) % 13)), role: 'target' }),
        );
    }
    const run = await runCli(['assess', writeInput('large.json', bundle(resources))], { timeoutMs: 60_000 });
    expect(run.status).toBe(0);
    expect(run.ms).toBeLessThan(20_000);
    const out = JSON.parse(run.stdout) as Bundle;
    expect(out.entry?.filter((e) => e.resource?.resourceType === 'DiagnosticReport')).toHaveLength(2499);
    expect(run.stderr).not.toMatch(STACK);
  });
});
