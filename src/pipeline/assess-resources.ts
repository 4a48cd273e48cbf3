/**
 * The middle of every flow (architecture.md): map FHIR -> domain, assess (pure), render domain -> FHIR.
 * Used by `assess` (a Bundle file), the service worker (a patient's context read from the server) and
 * `backfill` (NDJSON).
 */
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { type Assessment, assessPatient } from '../domain/assess.ts';
import type { ImmunotherapyCatalogue } from '../mapping/immunotherapy-catalogue.ts';
import { readBundle } from '../mapping/read-bundle.ts';
import { type MappedPatient, mapToDomain } from '../mapping/to-domain.ts';
import { toTransaction } from '../mapping/to-transaction.ts';
import { defaultCatalogue } from './default-catalogue.ts';

export interface PipelineOptions {
  catalogue?: ImmunotherapyCatalogue;
  ctdnaCodes?: readonly { system: string; code: string }[];
  aliases?: Map<string, string>;
  /** Provenance.recorded (tests pin it). */
  now?: string;
}

export interface PipelineResult {
  transaction: Bundle;
  assessment: Assessment;
  mapped: MappedPatient;
  notes: string[];
}

export function assessResources(resources: Resource[], options: PipelineOptions = {}): PipelineResult {
  const mapped = mapToDomain(resources, {
    catalogue: options.catalogue ?? defaultCatalogue(),
    ctdnaCodes: options.ctdnaCodes,
    aliases: options.aliases,
  });
  const assessment = assessPatient(mapped.record);
  const { bundle, notes } = toTransaction(assessment, mapped, { now: options.now });
  return { transaction: bundle, assessment, mapped, notes };
}

/** A parsed Bundle of one patient's resources in, the transaction out. */
export function assessBundle(input: unknown, options: PipelineOptions = {}): PipelineResult {
  const { resources, aliases } = readBundle(input);
  return assessResources(resources, { ...options, aliases });
}
