/** Lesions named for a clinician in the report: id (without "BodyStructure/") and site, from the assessment's roles. */
import { type Assessment, lesionName } from '../domain/assess.ts';
import type { Lesion } from '../domain/types.ts';

export type LesionNamer = (ids: readonly string[]) => string;

const namers = new WeakMap<Assessment, LesionNamer>();

/** "L1 (Liver), N2 (Axillary lymph node)". Built once per assessment. */
export function lesionNamer(a: Assessment): LesionNamer {
  let namer = namers.get(a);
  if (!namer) {
    const byId = new Map<string, Lesion>(
      [...a.roles.targets, ...a.roles.nonTargets, ...a.roles.newLesions].map((l) => [l.id, l]),
    );
    namer = (ids) => ids.map((id) => lesionName(byId.get(id), id)).join(', ');
    namers.set(a, namer);
  }
  return namer;
}
