/**
 * The chart model from the engine's Assessment (src/charts/chart-data.ts): what each panel draws, as of a date, and
 * laboratory values split by unit so that no two units share an axis.
 */
import { XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { chartModelOf } from '../../src/charts/chart-data.ts';
import { renderChartModelSvg, renderTumourBurdenSvg } from '../../src/charts/render-svg.ts';
import { buildTumourBurdenOption, SERIES } from '../../src/charts/shared/chart-option.ts';
import { assessPatient } from '../../src/domain/assess.ts';
import { assessBundle } from '../../src/pipeline/assess-resources.ts';
import { readCase } from '../cli/case-check.ts';
import { patient } from '../domain/builders.ts';

const pseudo = assessBundle(readCase('pseudoprogression').bundle);
const model = chartModelOf(pseudo.assessment, { record: pseudo.mapped.record });

describe('chart model of the pseudoprogression case', () => {
  it('has the baseline, the response threshold and one point per assessed scan', () => {
    expect(model.baseline).toEqual({ date: '2026-01-05', sumMm: 50, prThresholdMm: 35 });
    expect(model.treatmentStart).toBe('2026-01-12');
    expect(model.timepoints.map((t) => [t.date, t.sumMm, t.response, t.status])).toEqual([
      ['2026-03-09', 64, 'iUPD', 'possible-pseudoprogression'],
      ['2026-04-20', 44, 'iSD', 'pseudoprogression'],
      ['2026-06-15', 30, 'iPR', 'pseudoprogression'],
    ]);
  });

  it('draws each scan against the nadir it was compared with and the +20 % / +5 mm threshold over it', () => {
    expect(model.timepoints.map((t) => [t.nadirMm, t.progressionThresholdMm])).toEqual([
      [50, 60],
      [50, 60],
      [44, 52.8],
    ]);
  });

  it('marks the iUPD and its reset, and shades the confirmation window', () => {
    expect(model.events).toEqual([
      { date: '2026-03-09', kind: 'iUPD', label: 'iUPD 2026-03-09' },
      { date: '2026-04-20', kind: 'reset', label: 'reset 2026-04-20' },
    ]);
    expect(model.confirmationWindows).toEqual([{ updDate: '2026-03-09', from: '2026-04-06', to: '2026-05-04' }]);
  });

  it('has the doses, the spider data of each target and ctDNA on its own series', () => {
    expect(model.doses).toHaveLength(10);
    expect(model.doses[0]).toEqual({ date: '2026-01-12', drug: expect.any(String) });
    const l1 = model.lesions.find((l) => l.id === 'pseudoprogression-L1');
    expect(l1?.role).toBe('target');
    expect(l1?.sizes.map((s) => [s.date, s.mm, s.pctFromBaseline])).toEqual([
      ['2026-01-05', 30, 0],
      ['2026-03-09', 40, 33.3],
      ['2026-04-20', 28, -6.7],
      ['2026-06-15', 18, -40],
    ]);
    expect(model.labs).toEqual([
      {
        kind: 'ctdna',
        name: 'ctDNA',
        unit: '%',
        points: [
          { date: '2026-01-05', value: 4.1 },
          { date: '2026-03-09', value: 0.3 },
          { date: '2026-04-20', value: 0.05 },
        ],
      },
    ]);
  });

  it('as of the iUPD date, shows only what was known then', () => {
    const then = chartModelOf(pseudo.assessment, { record: pseudo.mapped.record, asOf: '2026-03-09' });
    expect(then.timepoints.map((t) => t.date)).toEqual(['2026-03-09']);
    expect(then.events.map((e) => e.kind)).toEqual(['iUPD']);
    expect(then.doses.every((d) => d.date <= '2026-03-09')).toBe(true);
    expect(then.labs[0]?.points.map((p) => p.date)).toEqual(['2026-01-05', '2026-03-09']);
    expect(renderTumourBurdenSvg(pseudo.assessment, { record: pseudo.mapped.record, asOf: '2026-03-09' })).not.toBe(
      renderTumourBurdenSvg(pseudo.assessment, { record: pseudo.mapped.record }),
    );
  });
});

describe('laboratory series', () => {
  const record = patient({
    doses: ['2026-01-10'],
    scans: [
      { date: '2026-01-05', sizes: { L1: 40 } },
      { date: '2026-03-01', sizes: { L1: 30 } },
    ],
    ctdna: [
      { date: '2026-01-05', value: 2, unit: '%', source: 'Observation/c1' },
      { date: '2026-02-01', detected: false, source: 'Observation/c2' },
    ],
    markers: [
      {
        name: 'CEA',
        values: [
          { date: '2026-01-05', value: 12, unit: 'ng/mL', source: 'Observation/m1' },
          { date: '2026-02-01', value: 9, unit: 'ug/L', source: 'Observation/m2' },
          { date: '2026-03-01', value: 7, unit: 'ng/mL', source: 'Observation/m3' },
        ],
      },
    ],
  });
  const labs = chartModelOf(assessPatient(record), { record }).labs;

  it.each([
    ['ctDNA', '%', ['2026-01-05 2', '2026-02-01 not detected']],
    ['CEA', 'ng/mL', ['2026-01-05 12', '2026-03-01 7']],
    ['CEA', 'ug/L', ['2026-02-01 9']],
  ])('%s in %s is its own series', (name, unit, points) => {
    const s = labs.find((l) => l.name === name && l.unit === unit);
    expect(s?.points.map((p) => `${p.date} ${p.value ?? (p.detected ? 'detected' : 'not detected')}`)).toEqual(points);
  });

  it('gives every series its own panel and axis', () => {
    const { option } = buildTumourBurdenOption(chartModelOf(assessPatient(record), { record }));
    const o = option as { grid: unknown[]; yAxis: { gridIndex: number }[]; title: { text: string }[] };
    expect(o.title.map((t) => t.text)).toEqual([
      'Sum of target diameters (mm)',
      'Target lesions: change from baseline (%)',
      'ctDNA (%)',
      'CEA (ng/mL)',
      'CEA (ug/L)',
    ]);
    expect(o.grid).toHaveLength(5);
    expect(new Set(o.yAxis.map((y) => y.gridIndex)).size).toBe(5);
  });
});

describe('the SVG', () => {
  it('escapes text from the input and keeps braces out of label templates', () => {
    const record = patient({
      doses: [{ date: '2026-01-10', drug: 'nivo<lumab>&"{a}"', source: 'MedicationAdministration/x' }],
      lesions: { 'L<1>&"{b}': {} },
      scans: [
        { date: '2026-01-05', sizes: { 'L<1>&"{b}': 40 } },
        { date: '2026-03-01', sizes: { 'L<1>&"{b}': 60 } },
      ],
    });
    const svg = renderTumourBurdenSvg(assessPatient(record), { record });
    expect(XMLValidator.validate(svg)).toBe(true);
    expect(svg).toContain('L&lt;1&gt;&amp;');
    expect(svg).not.toContain('L<1>');
  });

  it('names the panels and legend entries a clinician reads', () => {
    const svg = renderTumourBurdenSvg(pseudo.assessment, { record: pseudo.mapped.record });
    for (const text of [
      SERIES.sum,
      SERIES.nadir,
      SERIES.baseline,
      SERIES.doses,
      'iUPD 2026-03-09',
      'reset 2026-04-20',
      'confirmation window',
      'ctDNA (%)',
    ]) {
      expect(svg).toContain(text);
    }
    expect(svg).toContain('aria-label="Sum of target diameters: baseline 50 mm on 2026-01-05;');
  });

  it('draws a placeholder for a patient with no assessable scan', () => {
    const svg = renderChartModelSvg({
      species: 'human',
      timepoints: [],
      events: [],
      confirmationWindows: [],
      doses: [],
      lesions: [],
      labs: [],
    });
    expect(XMLValidator.validate(svg)).toBe(true);
    expect(svg).toContain('No assessable scan yet');
  });
});
