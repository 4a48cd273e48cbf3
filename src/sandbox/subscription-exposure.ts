/**
 * What the sandbox shows of a Subscription, and where it lets one deliver (issue 12 item 2):
 * - a reader never gets the webhook secret: the subscription-secret extension and every channel.header value are
 *   shown as `***` (as servers that hide credentials do; registration compares around the mask), in reads,
 *   searches, history, batch/transaction responses and exports. An update that sends a masked value back keeps the
 *   stored one, so a read-modify-write does not wipe the secret.
 * - a Subscription may deliver only to an allowed endpoint: the adapter's own /notifications and the URLs in
 *   SANDBOX_SUBSCRIPTION_ENDPOINTS (an entry ending in `/` allows everything under it); anything else is refused on
 *   write (400), so the sandbox never POSTs patient data to a URL a stranger chose.
 * https://hl7.org/fhir/R4/subscription.html#security
 */
import { badRequest, OperationOutcomeError, type WithId } from '@medplum/core';
import type { Bundle, Extension, Resource, Subscription } from '@medplum/fhirtypes';
import { MASKED_SECRET } from '../codes.ts';
import { SUBSCRIPTION_SECRET_URLS } from './rest-hook-request.ts';

/** Checks (and may adjust) a resource about to be stored; `existing` is its current version, if any. */
export type WriteGuard = (incoming: WithId<Resource>, existing: WithId<Resource> | undefined) => WithId<Resource>;

export const ENDPOINT_REFUSED =
  "Subscription.channel.endpoint is not allowed: the sandbox delivers only to the adapter's own /notifications " +
  'or a URL listed in SANDBOX_SUBSCRIPTION_ENDPOINTS';

const isSecretExtension = (e: Extension): boolean => SUBSCRIPTION_SECRET_URLS.includes(e.url);
const headerName = (line: string): string => line.slice(0, Math.max(0, line.indexOf(':'))).trim();
const maskHeader = (line: string): string => (line.includes(':') ? `${headerName(line)}: ${MASKED_SECRET}` : line);

function maskSubscription(subscription: Subscription): Subscription {
  const masked: Subscription = { ...subscription };
  if (subscription.extension?.some(isSecretExtension)) {
    masked.extension = subscription.extension.map((e) =>
      isSecretExtension(e) ? { url: e.url, valueString: MASKED_SECRET } : e,
    );
  }
  if (subscription.channel?.header?.length) {
    masked.channel = { ...subscription.channel, header: subscription.channel.header.map(maskHeader) };
  }
  return masked;
}

/**
 * A copy of what a reader may see: Subscriptions (also inside Bundles, at any depth) with their secrets masked.
 * @param resource - What is about to be sent.
 * @returns The same object when there was nothing to mask.
 */
export function maskSecrets<T extends Resource | undefined>(resource: T): T {
  if (resource?.resourceType === 'Subscription') return maskSubscription(resource) as T;
  if (resource?.resourceType !== 'Bundle' || !resource.entry?.length) return resource;
  const bundle = resource as Bundle;
  const entries = bundle.entry ?? [];
  const masked = entries.map((e) => (e.resource ? { ...e, resource: maskSecrets(e.resource) } : e));
  return masked.some((e, i) => e.resource !== entries[i]?.resource) ? ({ ...bundle, entry: masked } as T) : resource;
}

/** The stored secret and header values in place of masked ones (a reader's copy written back). */
function unmask(incoming: WithId<Subscription>, existing: Subscription | undefined): WithId<Subscription> {
  const storedSecret = (url: string) => existing?.extension?.find((e) => e.url === url)?.valueString;
  const storedHeader = (name: string) => existing?.channel?.header?.find((l) => headerName(l) === name);
  const extension = incoming.extension
    ?.map((e) =>
      isSecretExtension(e) && e.valueString === MASKED_SECRET ? { ...e, valueString: storedSecret(e.url) } : e,
    )
    .filter((e) => !isSecretExtension(e) || e.valueString !== undefined);
  const header = incoming.channel?.header
    ?.map((l) => (l.slice(l.indexOf(':') + 1).trim() === MASKED_SECRET ? storedHeader(headerName(l)) : l))
    .filter((l): l is string => l !== undefined);
  return {
    ...incoming,
    ...(extension ? { extension } : {}),
    ...(incoming.channel ? { channel: { ...incoming.channel, ...(header ? { header } : {}) } } : {}),
  };
}

/**
 * Whether `endpoint` is one of `allowed` (same URL), or under an entry that ends in `/`.
 * @param endpoint - Subscription.channel.endpoint.
 * @param allowed - The allowed URLs.
 */
export function endpointAllowed(endpoint: string, allowed: readonly string[]): boolean {
  if (!URL.canParse(endpoint)) return false;
  const target = new URL(endpoint);
  if (target.username || target.password) return false;
  const href = `${target.origin}${target.pathname}`;
  return allowed.some((entry) => {
    if (!URL.canParse(entry)) return false;
    const allow = new URL(entry);
    const base = `${allow.origin}${allow.pathname}`;
    const trim = (u: string) => u.replace(/\/+$/, '');
    return base.endsWith('/') ? href.startsWith(base) : trim(href) === trim(base);
  });
}

/**
 * The sandbox's write guard for Subscriptions: masked secrets restored from the stored version; the endpoint checked
 * against `allowed` (undefined: any endpoint, as a library user's own sandbox may need).
 * @param allowed - The endpoints Subscriptions may deliver to.
 * @returns The guard.
 */
export function subscriptionWriteGuard(allowed: readonly string[] | undefined): WriteGuard {
  return (incoming, existing) => {
    if (incoming.resourceType !== 'Subscription') return incoming;
    const subscription = unmask(incoming, existing as Subscription | undefined);
    const endpoint = subscription.channel?.endpoint;
    if (allowed && endpoint !== undefined && !endpointAllowed(endpoint, allowed)) {
      throw new OperationOutcomeError(badRequest(ENDPOINT_REFUSED, 'Subscription.channel.endpoint'));
    }
    return subscription;
  };
}
