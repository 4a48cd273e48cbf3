/**
 * Supporting-evidence Observations (ctDNA, ECOG, tumour markers) into lab series. Values are gathered first and put
 * into one unit per series at the end (harmonise-units.ts); only the values kept count as used inputs.
 */
import type { Observation } from '@medplum/fhirtypes';
import { TUMOR_MARKERS } from '../codes.ts';
import type { LabValue, MarkerSeries } from '../domain/types.ts';
import { harmoniseSeries } from './harmonise-units.ts';
import type { MappingContext } from './mapping-context.ts';
import { readCtdna, readEcog, readMarker } from './read-evidence.ts';

export type LabKind = { kind: 'ctdna' } | { kind: 'ecog' } | { kind: 'marker'; loinc: string };

export class LabSeries {
  private readonly ctdna: LabValue[] = [];
  private readonly ecog: LabValue[] = [];
  private readonly markers = new Map<string, LabValue[]>();
  private readonly observations = new Map<string, Observation>();

  /** Reads one lab Observation into its series (unreadable ones become issues). */
  add(ctx: MappingContext, obs: Observation, lab: LabKind): void {
    const value =
      lab.kind === 'ctdna'
        ? readCtdna(obs, ctx.issues)
        : lab.kind === 'ecog'
          ? readEcog(obs, ctx.issues)
          : readMarker(obs, ctx.issues);
    if (!value) return;
    this.observations.set(value.source, obs);
    if (lab.kind === 'ctdna') this.ctdna.push(value);
    else if (lab.kind === 'ecog') this.ecog.push(value);
    else {
      const name = TUMOR_MARKERS[lab.loinc]!;
      const series = this.markers.get(name);
      if (series) series.push(value);
      else this.markers.set(name, [value]);
    }
  }

  /** Every series in one unit; the values kept are recorded as used, the others listed. */
  finish(ctx: MappingContext): { ctdna: LabValue[]; ecog: LabValue[]; markers: MarkerSeries[] } {
    const keep = (name: string, values: LabValue[], preferred?: string): LabValue[] => {
      const one = harmoniseSeries(name, values, preferred);
      ctx.issues.push(...one.issues);
      for (const v of one.values) ctx.use(this.observations.get(v.source)!);
      return one.values;
    };
    const ctdna = keep('ctDNA', this.ctdna, '%');
    const ecog = keep('ECOG', this.ecog);
    const markers = [...this.markers]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, values]) => ({ name, values: keep(name, values) }));
    return { ctdna, ecog, markers };
  }
}
