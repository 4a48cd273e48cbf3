/** The immunotherapy catalogue from profiles/ValueSet-immunotherapy.json, built once per process. */
import { VALUE_SET } from '../codes.ts';
import { createCatalogue, type ImmunotherapyCatalogue } from '../mapping/immunotherapy-catalogue.ts';
import { getValueSet } from '../profiles/load-profiles.ts';

let cached: ImmunotherapyCatalogue | undefined;

export function defaultCatalogue(): ImmunotherapyCatalogue {
  if (!cached) {
    const valueSet = getValueSet(VALUE_SET.immunotherapy);
    if (!valueSet) throw new Error('profiles/ValueSet-immunotherapy.json is missing');
    cached = createCatalogue(valueSet);
  }
  return cached;
}
