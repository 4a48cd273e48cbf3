/**
 * The samples written from the seed articles (samples/build-extra-cases.ts), read as a clinician would: one next step
 * per report, no advice to continue where iRECIST does not support it, no evidence claimed across units.
 */
import type { DiagnosticReport, Flag } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { EXTRA_CASES } from '../../samples/build-extra-cases.ts';
import { assessBundle } from '../../src/pipeline/assess-resources.ts';
import { readCase } from './case-check.ts';

const NOW = '2026-07-01T00:00:00.000Z';

function outputs(name: string) {
  const tx = assessBundle(readCase(name).bundle, { now: NOW }).transaction;
  const resources = (tx.entry ?? []).map((e) => e.resource);
  return {
    reports: resources.filter((r): r is DiagnosticReport => r?.resourceType === 'DiagnosticReport'),
    flag: resources.find((r): r is Flag => r?.resourceType === 'Flag'),
  };
}

describe('every report of the seed-article samples', () => {
  it.each(EXTRA_CASES.map((c) => c.name))('%s: exactly one next step, and the Flag gives the same one', (name) => {
    const { reports, flag } = outputs(name);
    for (const r of reports)
      expect(r.conclusion!.split('\n').filter((l) => l.startsWith('Next step:'))).toHaveLength(1);
    const last = reports
      .at(-1)!
      .conclusion!.split('\n')
      .find((l) => l.startsWith('Next step:'))!;
    expect(flag?.code?.text).toContain(last);
  });
});

describe('read as a clinician would', () => {
  it('unstable hyperprogression: review now; never "continue"; the decline and the growth rates stated', () => {
    const { reports, flag } = outputs('unstable-hyperprogression');
    const text = reports[0]!.conclusion!;
    expect(text).toContain(
      'Next step: review the treatment now: hyperprogression. A confirming scan is not a reason to wait.',
    );
    expect(text).toContain('clinically unstable: ECOG 0 at baseline, 2 on 2026-03-02');
    expect(text).toMatch(
      /Hyperprogression: tumour growth rate 14\.1%\/month before treatment and 131\.6%\/month on it/,
    );
    expect(`${text}\n${flag?.code?.text}`).not.toMatch(/continu|pseudoprogression is most common/i);
  });

  it('a dog with a 3-4 week recheck: the canine profile, and the 21-28 day confirmation dates', () => {
    const { reports } = outputs('canine-recheck');
    expect(reports[0]!.conclusion).toContain(
      'Next step: confirm with a scan between 2026-03-16 and 2026-03-23 (21-28 days after the unconfirmed progression of 2026-02-23).',
    );
    expect(reports[1]!.conclusion).toContain(
      'Progression confirmed (iCPD) 24 days after the unconfirmed progression of 2026-02-23',
    );
  });

  it('ctDNA in % then as a fraction: one series in %, the 12.8-fold fall said while the iUPD is open, not after', () => {
    const { reports } = outputs('ctdna-two-units');
    expect(reports[0]!.conclusion).toContain(
      'ctDNA fell 12.8-fold within 12 weeks of start (2026-01-05 3.2%, 2026-03-09 0.25%): supports pseudoprogression',
    );
    expect(reports[0]!.conclusion).toContain('LDH falling (5 ukat/L on 2026-01-05 to 3.5 ukat/L on 2026-03-09)');
    expect(reports[0]!.conclusion).toContain('day 56 of ipilimumab and nivolumab (started 2026-01-12)');
    expect(reports[1]!.conclusion).not.toContain('supports');
  });

  it('all disease growing: widespread progression, never oligoprogression', () => {
    const { reports } = outputs('widespread-progression');
    for (const r of reports) {
      expect(r.conclusion).toMatch(
        /Widespread progression: (all \d+|both) assessed lesions are larger than at their smallest/,
      );
      expect(r.conclusion).not.toContain('Oligoprogression');
    }
  });
});
