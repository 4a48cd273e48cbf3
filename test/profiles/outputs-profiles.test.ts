/**
 * The profiles of the disease-status Observation and the report DocumentReference (issue #9): the examples conform,
 * and each constraint fails when broken.
 */
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { EXTENSION } from '../../src/codes.ts';
import { validateWritten } from '../support/fhir-validation/validate.ts';
import { diseaseStatusExample, reportDocumentExample } from './examples.ts';

// biome-ignore lint/suspicious/noExplicitAny: test fixtures are mutated without ceremony
type Loose = Record<string, any>;

const errorTexts = (resource: Loose): string[] =>
  validateWritten(resource as Resource)
    .filter((i: OperationOutcomeIssue) => i.severity === 'error')
    .map((i) => `${i.expression?.[0]}: ${i.details?.text}`);

describe('conforming examples', () => {
  it.each([
    ['disease-status', diseaseStatusExample],
    ['report-document', reportDocumentExample],
  ])('%s validates without errors or warnings', (_name, example) => {
    expect(validateWritten(example())).toEqual([]);
  });
});

describe('disease-status', () => {
  it.each<[string, (r: Loose) => void, RegExp]>([
    [
      'a component (mCODE allows none)',
      (r) => (r.component = [{ code: { text: 'x' }, valueString: 'y' }]),
      /component/,
    ],
    ['another code than LOINC 97509-4', (r) => (r.code.coding[0].code = '88040-1'), /pattern/i],
    ['a value outside ConditionStatusTrendVS', (r) => (r.valueCodeableConcept.coding[0].code = '1234'), /irecist-ds-2/],
    ['no evidence type', (r) => r.extension.splice(0, 1), /irecist-ds-3/],
    [
      'evidence type other than imaging',
      (r) => (r.extension[0].valueCodeableConcept.coding[0].code = '5880005'),
      /irecist-ds-3/,
    ],
    ['no iRECIST patient status', (r) => r.extension.splice(2, 1), /irecist-ds-4/],
    [
      'a period instead of the scan date',
      (r) => {
        delete r.effectiveDateTime;
        r.effectivePeriod = { start: '2024-03-01' };
      },
      /irecist-ds-1|effective/,
    ],
    ['no identifier', (r) => delete r.identifier, /identifier/],
    [
      'a response code outside the timepoint responses',
      (r) => {
        r.extension.find((e: Loose) => e.url === EXTENSION.irecistResponse).valueCodeableConcept.coding[0].code = 'PD';
      },
      /value set/,
    ],
  ])('fails on %s', (_what, breakIt, expected) => {
    const r = diseaseStatusExample() as Loose;
    breakIt(r);
    expect(errorTexts(r).join('\n')).toMatch(expected);
  });
});

describe('report-document', () => {
  it.each<[string, (r: Loose) => void, RegExp]>([
    ['another type', (r) => (r.type.coding[0].code = '11502-2'), /pattern/i],
    ['no clinical-note category', (r) => (r.category = [{ text: 'note' }]), /category/],
    ['status superseded', (r) => (r.status = 'superseded'), /status/],
    ['no docStatus', (r) => delete r.docStatus, /docStatus/],
    ['the chart first', (r) => r.content.reverse(), /irecist-rd-1/],
    ['a PDF attachment', (r) => (r.content[1].attachment.contentType = 'application/pdf'), /irecist-rd-2/],
    ['no date', (r) => delete r.date, /date/],
    ['a context period that ends before it starts (per-1)', (r) => (r.context.period.end = '2024-02-01'), /per-1/],
  ])('fails on %s', (_what, breakIt, expected) => {
    const r = reportDocumentExample() as Loose;
    breakIt(r);
    expect(errorTexts(r).join('\n')).toMatch(expected);
  });
});
