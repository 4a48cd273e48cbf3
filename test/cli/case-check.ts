/**
 * The comparison ../shared/tools/check-cases.mjs makes, as a function: the DiagnosticReports and Flags of a
 * written transaction against CASE.expected.json. Returns the problems (empty = the case passes).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Bundle, CodeableConcept, DiagnosticReport, Flag, Resource } from '@medplum/fhirtypes';
import { IRECIST_SYSTEM } from '../../src/codes.ts';

export interface ExpectedCase {
  case: string;
  title: string;
  patient: string;
  timepoints: [string, string][];
  status: string;
  activeFlag: string | null;
}

export const SAMPLES_DIR = fileURLToPath(new URL('../../samples/', import.meta.url));
export const CASES_DIR = join(SAMPLES_DIR, 'cases');
export const TRANSACTIONS_DIR = join(SAMPLES_DIR, 'transactions');

export const caseNames = (): string[] =>
  readdirSync(CASES_DIR)
    .filter((f) => f.endsWith('.bundle.json'))
    .map((f) => f.slice(0, -'.bundle.json'.length))
    .sort();

export const readCase = (name: string): { bundle: unknown; expected: ExpectedCase } => ({
  bundle: JSON.parse(readFileSync(join(CASES_DIR, `${name}.bundle.json`), 'utf8')),
  expected: JSON.parse(readFileSync(join(CASES_DIR, `${name}.expected.json`), 'utf8')) as ExpectedCase,
});

export const codesOf = (concepts: (CodeableConcept | undefined)[] | undefined): string[] =>
  (concepts ?? [])
    .flatMap((c) => c?.coding ?? [])
    .filter((c) => c.system === IRECIST_SYSTEM)
    .map((c) => c.code ?? '');

export interface CaseSummary {
  reports: { date: string; codes: string[] }[];
  activeFlags: string[];
}

export function summarise(transaction: Bundle, patient: string): CaseSummary {
  const resources = (transaction.entry ?? []).map((e) => e.resource).filter((r): r is Resource => Boolean(r));
  const reports = resources
    .filter(
      (r): r is DiagnosticReport =>
        r.resourceType === 'DiagnosticReport' && String(r.subject?.reference ?? '').endsWith(patient),
    )
    .map((r) => ({
      date: String(r.effectiveDateTime ?? r.effectivePeriod?.start ?? '').slice(0, 10),
      codes: codesOf(r.conclusionCode),
    }))
    .sort((a, b) => a.date.localeCompare(b.date));
  const activeFlags = resources
    .filter(
      (r): r is Flag =>
        r.resourceType === 'Flag' && r.status === 'active' && String(r.subject?.reference ?? '').endsWith(patient),
    )
    .flatMap((r) => codesOf([r.code]))
    .sort();
  return { reports, activeFlags };
}

/** The problems check-cases.mjs would print for this case (empty when it passes). */
export function caseProblems(transaction: Bundle, expected: ExpectedCase): string[] {
  const problems: string[] = [];
  const { reports, activeFlags } = summarise(transaction, expected.patient);
  const gotDates = reports.map((r) => r.date).join(',');
  const wantDates = expected.timepoints.map((t) => t[0]).join(',');
  if (gotDates !== wantDates) problems.push(`report dates ${gotDates || 'none'}, expected ${wantDates}`);
  for (const [date, code] of expected.timepoints) {
    const r = reports.find((x) => x.date === date);
    if (r && !r.codes.includes(code)) problems.push(`${date}: ${r.codes.join('+') || 'no codes'}, expected ${code}`);
  }
  const last = reports.at(-1);
  if (last && !last.codes.includes(expected.status))
    problems.push(`latest status ${last.codes.join('+')}, expected ${expected.status}`);
  const wantFlags = expected.activeFlag ? [expected.activeFlag] : [];
  if (activeFlags.join(',') !== wantFlags.join(','))
    problems.push(`active flags ${activeFlags.join(',') || 'none'}, expected ${wantFlags.join(',') || 'none'}`);
  return problems;
}
