/**
 * BodyStructure -> lesion identity (mCODE Tumor style): identifier or id; organ from `location` (SNOMED);
 * SNOMED 59441001 "Structure of lymph node", or a location naming a lymph node, makes it nodal. All nodes
 * are one organ.
 */
import type { BodyStructure } from '@medplum/fhirtypes';
import { INPUT, SYSTEM } from '../codes.ts';
import type { Lesion } from '../domain/types.ts';
import { asArray, codings, isObject } from './fhir-helpers.ts';

export const NODAL_ORGAN = 'lymph-node';
const LYMPH_NODE_TEXT = /lymph[\s-]*node/i;

export function lesionKey(body: BodyStructure): string {
  const identifier = asArray(body.identifier).find((i) => isObject(i) && typeof i.value === 'string' && i.value);
  return identifier?.value ?? `BodyStructure/${body.id}`;
}

/** The site in words: the location's text or display, after its qualifiers ("Left" "Lung structure"). */
function siteOf(body: BodyStructure, texts: readonly string[]): string | undefined {
  const where = texts.find((t) => t.trim());
  if (!where) return undefined;
  const qualifiers = asArray(body.locationQualifier)
    .filter(isObject)
    .map((q) => (typeof q.text === 'string' && q.text.trim() ? q.text : codings(q).find((c) => c.display)?.display))
    .filter((t): t is string => typeof t === 'string' && t.trim() !== '');
  return [...qualifiers, where].join(' ').replace(/\s+/g, ' ').trim().slice(0, 120);
}

export function readLesion(body: BodyStructure): Lesion {
  const location = body.location;
  const cs = codings(location);
  const texts = [location?.text, ...cs.map((c) => c.display)].filter((t): t is string => typeof t === 'string');
  const site = siteOf(body, texts);
  const nodal =
    cs.some((c) => c.system === INPUT.lymphNode.system && c.code === INPUT.lymphNode.code) ||
    texts.some((t) => LYMPH_NODE_TEXT.test(t));
  const snomed = cs.find((c) => c.system === SYSTEM.snomed && c.code);
  const organ = nodal
    ? NODAL_ORGAN
    : snomed?.code
      ? `snomed:${snomed.code}`
      : texts[0]
        ? `text:${texts[0].trim().toLowerCase()}`
        : `unknown:${lesionKey(body)}`;
  return { id: lesionKey(body), organ, nodal, ...(site ? { site } : {}) };
}
