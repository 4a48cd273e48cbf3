/**
 * One Medplum-style rest-hook request: its headers (Medplum's order, channel headers, the HMAC signature when the
 * subscription-secret extension is set) and how many attempts a Subscription's deliveries get.
 * https://www.medplum.com/docs/subscriptions/subscriptions-basics
 */
import type { WithId } from '@medplum/core';
import { getExtension } from '@medplum/core';
import type { Extension, Resource, Subscription } from '@medplum/fhirtypes';
import { medplumSignature } from './medplum-signature.ts';
import type { WriteEvent } from './version-store.ts';

/** The writes that notify (an unchanged write notifies nobody). */
export type NotifiableInteraction = Exclude<WriteEvent['interaction'], 'unchanged'>;

/** Secret extension URLs: Medplum's current one first; the last two are also accepted (docs spelling, legacy). */
export const SUBSCRIPTION_SECRET_URLS = [
  'https://www.medplum.com/fhir/StructureDefinition/subscription-secret',
  'https://medplum.com/fhir/StructureDefinition/subscription-secret',
  'https://www.medplum.com/fhir/StructureDefinition-subscriptionSecret',
];

/** Max-attempts extension URLs (Medplum's worker reads the one without `www`). */
export const SUBSCRIPTION_MAX_ATTEMPTS_URLS = [
  'https://www.medplum.com/fhir/StructureDefinition/subscription-max-attempts',
  'https://medplum.com/fhir/StructureDefinition/subscription-max-attempts',
];

export const DEFAULT_MAX_ATTEMPTS = 3;
/** Medplum's ceiling (about 73 hours of exponential backoff at a 1 s base). */
const MAX_ATTEMPTS_CEILING = 19;

/** The headers of one rest-hook POST, in Medplum's order (its buildRestHookHeaders). */
export function buildRestHookHeaders(
  subscription: WithId<Subscription>,
  resource: WithId<Resource>,
  interaction: NotifiableInteraction,
  body: string,
): Record<string, string> {
  const headers: Record<string, string> = {
    'Content-Type': 'application/fhir+json',
    'X-Medplum-Subscription': subscription.id,
    'X-Medplum-Interaction': interaction,
  };
  if (interaction === 'delete') {
    headers['X-Medplum-Deleted-Resource'] = `${resource.resourceType}/${resource.id}`;
  }
  for (const line of subscription.channel.header ?? []) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim();
    for (const existing of Object.keys(headers)) {
      if (existing.toLowerCase() === name.toLowerCase()) delete headers[existing];
    }
    headers[name] = line.slice(colon + 1).trim();
  }
  const secret = firstExtension(subscription, SUBSCRIPTION_SECRET_URLS)?.valueString;
  if (secret) headers['X-Signature'] = medplumSignature(body, secret);
  return headers;
}

/** Attempts in all for one Subscription's deliveries (its max-attempts extension, bounded). */
export function maxAttemptsOf(subscription: Subscription): number {
  const value = firstExtension(subscription, SUBSCRIPTION_MAX_ATTEMPTS_URLS)?.valueInteger;
  if (value === undefined || !Number.isInteger(value)) return DEFAULT_MAX_ATTEMPTS;
  return Math.min(Math.max(1, value), MAX_ATTEMPTS_CEILING);
}

/** The first top-level extension with one of the URLs (getExtension's extra URLs mean nesting, not options). */
function firstExtension(subscription: Subscription, urls: readonly string[]): Extension | undefined {
  for (const url of urls) {
    const extension = getExtension(subscription, url);
    if (extension) return extension;
  }
  return undefined;
}

/** Whether a Subscription delivers: active, rest-hook, an http(s) endpoint. */
export function isActiveRestHook(subscription: Subscription): boolean {
  const endpoint = subscription.channel?.endpoint;
  return (
    subscription.status === 'active' &&
    subscription.channel?.type === 'rest-hook' &&
    typeof endpoint === 'string' &&
    /^https?:\/\//i.test(endpoint)
  );
}
