/**
 * One unit per lab series (rules.md, "ctDNA"; issue #8 section 2 item 3): every value of a series (ctDNA, each tumour
 * marker, LDH) is converted through UCUM to one unit: that of the most recent value among the largest group of values
 * that convert to each other (so one stray entry in a wrong unit cannot push the rest out), ctDNA to % when its values
 * are fractions (% and 1 are the same quantity). A value that cannot be converted is listed as not used, so no trend
 * or fold change is ever computed across units. ECOG has no unit and is not converted.
 */
import type { DataQualityIssue, LabValue } from '../domain/types.ts';
import { convertUnit } from './ucum.ts';

const later = (a: LabValue, b: LabValue): boolean => a.date > b.date || (a.date === b.date && a.source > b.source);

/** The unit a series is shown and compared in. */
function seriesUnit(numeric: readonly LabValue[], preferred: string | undefined): string | undefined {
  const withUnit = numeric.filter((v) => v.unit !== undefined);
  const units = [...new Set(withUnit.map((v) => v.unit!))];
  const reach = new Map(
    units.map((u) => [u, withUnit.filter((v) => convertUnit(1, v.unit!, u) !== undefined).length] as const),
  );
  const most = Math.max(0, ...reach.values());
  const latest = withUnit
    .filter((v) => reach.get(v.unit!) === most)
    .reduce<LabValue | undefined>((a, v) => (a === undefined || later(v, a) ? v : a), undefined);
  if (!latest?.unit) return undefined;
  if (preferred !== undefined && convertUnit(1, latest.unit, preferred) !== undefined) return preferred;
  return latest.unit;
}

/**
 * The series in one unit, and an issue for each value left out. `preferred`: the unit to show when the values
 * convert to it (ctDNA: %).
 */
export function harmoniseSeries(
  name: string,
  values: readonly LabValue[],
  preferred?: string,
): { values: LabValue[]; issues: DataQualityIssue[] } {
  const numeric = values.filter((v) => v.value !== undefined);
  const unit = seriesUnit(numeric, preferred);
  const kept: LabValue[] = [];
  const issues: DataQualityIssue[] = [];
  for (const v of values) {
    if (v.value === undefined || v.unit === unit) {
      kept.push(v);
      continue;
    }
    const converted = v.unit === undefined || unit === undefined ? undefined : convertUnit(v.value, v.unit, unit);
    if (converted !== undefined) {
      kept.push({ ...v, value: converted, unit });
      continue;
    }
    issues.push({
      code: v.unit === undefined ? 'lab-unit-missing' : 'lab-unit-not-convertible',
      text:
        v.unit === undefined
          ? `${name}: a result has no unit, so it cannot be compared with the others (in ${unit}); it was not used.`
          : `${name}: a result in ${v.unit} cannot be converted to ${unit ?? 'the unit of the other results'} (UCUM); it was not used.`,
      source: v.source,
    });
  }
  return { values: kept, issues };
}
