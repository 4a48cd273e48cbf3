/**
 * Recognises immunotherapy from a medication's codes or name, using the `immunotherapy` ValueSet in
 * profiles/ as the catalogue (contract section 1): explicit RxNorm/ATC concepts, ATC `is-a` filters (L01FF*),
 * and, when no code matches, the generic name in text/display (case-insensitive).
 */
import type { CodeableConcept, ValueSet } from '@medplum/fhirtypes';
import { codings } from './fhir-helpers.ts';

export interface ImmunotherapyCatalogue {
  /** The generic name of the drug when it is immunotherapy, else undefined. */
  match(concept: CodeableConcept | undefined): string | undefined;
}

export function createCatalogue(valueSet: ValueSet): ImmunotherapyCatalogue {
  const byCode = new Map<string, string>();
  const prefixes: { system: string; prefix: string; name: string }[] = [];
  const names: string[] = [];
  for (const include of valueSet.compose?.include ?? []) {
    const system = include.system ?? '';
    for (const c of include.concept ?? []) {
      const name = (c.display ?? c.code).toLowerCase();
      byCode.set(`${system}|${c.code}`, name);
      names.push(name, ...(c.designation ?? []).map((d) => d.value.toLowerCase()));
    }
    for (const f of include.filter ?? []) {
      if (f.op === 'is-a' || f.op === 'descendent-of')
        prefixes.push({ system, prefix: f.value, name: `ATC ${f.value}` });
    }
  }
  // Longest names first so "nivolumab and relatlimab" wins over "nivolumab".
  const uniqueNames = [...new Set(names)].filter((n) => n.length >= 3).sort((a, b) => b.length - a.length);
  return {
    match(concept) {
      const cs = codings(concept);
      for (const c of cs) {
        const hit = byCode.get(`${c.system}|${c.code}`);
        if (hit) return hit;
      }
      for (const c of cs) {
        const p = prefixes.find(
          (x) => x.system === c.system && typeof c.code === 'string' && c.code.startsWith(x.prefix),
        );
        if (p) return c.display?.toLowerCase() ?? p.name;
      }
      const texts = [concept?.text, ...cs.map((c) => c.display)]
        .filter((t): t is string => typeof t === 'string')
        .map((t) => t.toLowerCase());
      for (const text of texts) {
        const name = uniqueNames.find((n) =>
          new RegExp(`(^|[^a-z])${n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}([^a-z]|$)`).test(text),
        );
        if (name) return name;
      }
      return undefined;
    },
  };
}
