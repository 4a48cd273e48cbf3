/**
 * Resource type names: FHIR R4 (4.0.1), as @medplum/core's `isResourceType` knows them from the R4 definitions,
 * plus SubscriptionTopic (R4B/R5, named by topic-based notifications; SubscriptionStatus is in Medplum's R4 set).
 * Anything else is refused before it is used in a URL or a job. https://hl7.org/fhir/R4/resourcelist.html
 */
import { isResourceType } from '@medplum/core';
import type { ResourceType } from '@medplum/fhirtypes';
import { loadR4StructureDefinitions } from './definitions.ts';

export type KnownResourceType = ResourceType | 'SubscriptionTopic';

/** R4B/R5 resource types a notification about an R4 server may still name. */
const BEYOND_R4: readonly string[] = ['SubscriptionTopic'];

/** The syntax of a resource type name (a capitalised word), before it is looked up. */
export const RESOURCE_TYPE_NAME = /^[A-Z][A-Za-z]{1,63}$/;

/**
 * Whether a name is a known resource type (case-sensitive; nothing from Object.prototype).
 * @param name - The name.
 * @returns True for an R4 resource type or SubscriptionTopic.
 */
export function isKnownResourceType(name: string): name is KnownResourceType {
  if (BEYOND_R4.includes(name)) return true;
  loadR4StructureDefinitions();
  return Object.hasOwn(Object.prototype, name) ? false : isResourceType(name) === true;
}

/**
 * Every known resource type name, sorted.
 * @returns The names.
 */
export function knownResourceTypes(): KnownResourceType[] {
  const names = loadR4StructureDefinitions().filter((name) => isResourceType(name));
  return [...new Set([...names, ...BEYOND_R4])].sort() as KnownResourceType[];
}
