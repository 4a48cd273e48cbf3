/**
 * The card per patient status (rule table: indicator and the exact summary), the statuses no public case ends in
 * included, and the Markdown escaping that keeps text quoted from the input from becoming a link or an image.
 */
import { describe, expect, it } from 'vitest';
import { escapeMarkdown, MAX_SUMMARY, patientViewCards } from '../../src/cds-hooks/patient-view-cards.ts';
import { assess, type PatientSpec } from '../domain/builders.ts';

const dose = ['2026-01-05'];
const two = (baseline: PatientSpec['scans'][number], later: PatientSpec['scans'][number]): PatientSpec => ({
  doses: dose,
  scans: [baseline, later],
});

describe('card per status', () => {
  it.each<[string, PatientSpec, string, string]>([
    [
      'possible-pseudoprogression',
      two({ date: '2026-01-01', sizes: { L1: 50 } }, { date: '2026-03-01', sizes: { L1: 70 } }),
      'warning',
      'Possible pseudoprogression: unconfirmed progression (iUPD) on 2026-03-01. Confirm with a scan 2026-03-29 to 2026-04-26.',
    ],
    [
      'not-evaluable',
      two({ date: '2026-01-01', sizes: { L1: 50, L2: 30 } }, { date: '2026-03-01', sizes: { L1: 50 } }),
      'info',
      'Latest scan 2026-03-01 not evaluable (NE): measurements missing. See the detail.',
    ],
    [
      'stable',
      two({ date: '2026-01-01', sizes: { L1: 50 } }, { date: '2026-03-01', sizes: { L1: 48 } }),
      'info',
      'Stable disease (iSD) on 2026-03-01, sum of diameters -4.0 % from baseline.',
    ],
    [
      'stable',
      {
        doses: dose,
        lesions: { N1: { role: 'non-target' } },
        scans: [
          { date: '2026-01-01', qualitative: { N1: 'present' } },
          { date: '2026-03-01', qualitative: { N1: 'present' } },
        ],
      },
      'info',
      'Non-target disease only, no progression (iNN) on 2026-03-01.',
    ],
  ])('%s: %s', (status, spec, indicator, summary) => {
    const assessment = assess(spec);
    expect(assessment.status).toBe(status);
    const [card] = patientViewCards(assessment, 'https://adapter.example.org/app/launch');
    expect(card?.indicator).toBe(indicator);
    expect(card?.summary).toBe(summary);
    expect(card?.summary.length).toBeLessThanOrEqual(MAX_SUMMARY);
  });

  it('no card without an assessed scan after baseline', () => {
    expect(patientViewCards(assess({ doses: dose, scans: [{ date: '2026-01-01', sizes: { L1: 50 } }] }), 'x')).toEqual(
      [],
    );
  });
});

describe('escapeMarkdown', () => {
  it.each([
    ['[x](https://evil.example)', '\\[x\\](https://evil.example)'],
    ['![i](https://evil.example/i.png)', '\\!\\[i\\](https://evil.example/i.png)'],
    ['<script>', '\\<script\\>'],
    ['*bold* _it_ `code` # | ~', '\\*bold\\* \\_it\\_ \\`code\\` \\# \\| \\~'],
    ['a \\ b', 'a \\\\ b'],
    ['Sum 64.0 mm (+28.0%) on 2026-03-09.', 'Sum 64.0 mm (+28.0%) on 2026-03-09.'],
  ])('%s -> %s', (input, output) => {
    expect(escapeMarkdown(input)).toBe(output);
  });
});
