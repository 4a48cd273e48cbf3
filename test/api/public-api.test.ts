/**
 * The programmatic API as an integration engineer uses it: imported by the package name (the `exports` map of
 * package.json), a Bundle in, the transaction and the public Assessment out.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Assessment, assessBundle, OutcomeError } from 'irecist-adapter';
import { describe, expect, it } from 'vitest';
import { assessBundle as pipeline } from '../../src/pipeline/assess-resources.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CASES = fileURLToPath(new URL('../../samples/cases/', import.meta.url));
const NOW = '2026-06-01T00:00:00.000Z';

const cases = readdirSync(CASES)
  .filter((f) => f.endsWith('.bundle.json'))
  .map((f) => f.replace('.bundle.json', ''));
const bundleOf = (name: string): unknown => JSON.parse(readFileSync(`${CASES}${name}.bundle.json`, 'utf8'));
const expectedOf = (name: string) =>
  JSON.parse(readFileSync(`${CASES}${name}.expected.json`, 'utf8')) as {
    timepoints: [string, string][];
    status: string;
  };

describe("assessBundle from 'irecist-adapter'", () => {
  it.each(cases)('%s: timepoints and status as the case expects', (name) => {
    const { transaction, assessment } = assessBundle(bundleOf(name), { now: NOW });
    const expected = expectedOf(name);
    expect(assessment.timepoints.map((t) => [t.date, t.response])).toEqual(expected.timepoints);
    expect(assessment.status).toBe(expected.status);
    expect(transaction.resourceType).toBe('Bundle');
    expect(transaction.type).toBe('transaction');
  });

  it.each(cases)('%s: the projection says what the domain says, in millimetres and plain JSON', (name) => {
    const { assessment } = assessBundle(bundleOf(name), { now: NOW });
    const domain = pipeline(bundleOf(name), { now: NOW }).assessment;
    expect(JSON.parse(JSON.stringify(assessment))).toEqual(assessment);
    expect(assessment.patientId).toBe(domain.patientId);
    expect(assessment.baselineSumMm).toBe(domain.baselineSod === undefined ? undefined : domain.baselineSod / 10);
    domain.timepoints.forEach((t, i) => {
      const p = assessment.timepoints[i];
      expect(p?.categories.target).toBe(t.target.response);
      expect(p?.categories.nonTarget).toBe(t.nonTarget.response);
      expect(p?.sums.measuredTargetMm).toBe(t.target.measuredSum / 10);
      expect(p?.reference.nadirMm).toBe(t.nadirSod === undefined ? undefined : t.nadirSod / 10);
      expect(p?.recist).toBe(t.step.recist);
      expect(p?.irecist.confirmed).toBe(t.step.state.confirmed);
      expect(p?.irecist.pendingUpd?.date).toBe(t.step.state.pending?.date);
    });
  });

  it('gives the pending iUPD, its triggers and the confirmation window while a progression awaits confirmation', () => {
    const { assessment } = assessBundle(bundleOf('pseudoprogression'), { now: NOW });
    const upd = assessment.timepoints.find((t) => t.response === 'iUPD') as Assessment['timepoints'][number];
    expect(upd.irecist.pendingUpd).toEqual({ date: upd.date, triggers: upd.irecist.triggers });
    expect(upd.irecist.triggers.length).toBeGreaterThan(0);
    expect((upd.irecist.confirmationWindow?.from ?? '') > upd.date).toBe(true);
  });

  it('is repeatable byte for byte with a fixed `now`', () => {
    const once = JSON.stringify(assessBundle(bundleOf('responder'), { now: NOW }));
    expect(JSON.stringify(assessBundle(bundleOf('responder'), { now: NOW }))).toBe(once);
  });

  it('refuses what is not a usable Bundle with an OutcomeError (400) and its OperationOutcome', () => {
    const refused = (() => {
      try {
        assessBundle({ resourceType: 'Patient' });
      } catch (err) {
        return err;
      }
    })();
    expect(refused).toBeInstanceOf(OutcomeError);
    expect((refused as OutcomeError).status).toBe(400);
    expect((refused as OutcomeError).outcome.issue?.[0]?.details?.text).toBe('Input is not a usable FHIR Bundle');
  });
});

describe('the package entry point', () => {
  it("resolves 'irecist-adapter' through the exports map in plain Node (as an embedding script does)", () => {
    const script = `import('irecist-adapter').then((m) => process.stdout.write(Object.keys(m).sort().join(',')))`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' });
    expect(out).toBe('OutcomeError,assessBundle');
  });
});
