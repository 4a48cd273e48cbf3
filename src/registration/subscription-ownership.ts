/**
 * Whose Subscription it is, and what of a server copy an update keeps.
 *
 * Subscriptions belong to one endpoint (PUBLIC_URL/notifications): each carries, beside its key tag, an owner tag
 * whose code is a digest of the endpoint it was made for. An instance with another PUBLIC_URL (a staging copy, a
 * colleague's laptop) therefore never finds another instance's Subscriptions as its own, and one of ours whose
 * endpoint was changed by someone else is still recognised as ours, pointing elsewhere, and repaired. A Subscription
 * made before owner tags existed is ours when it points at our endpoint.
 *
 * An update keeps every extension the adapter does not set for the server's flavour (a Medplum server not recognised
 * as Medplum keeps its secret and max-attempts extensions), so registering never strips what others configured.
 */
import type { Extension } from '@medplum/fhirtypes';
import { IDENTIFIER_SYSTEM, MASKED_SECRET } from '../codes.ts';
import { type AdapterSubscription, OWNER_TAG_SYSTEM, ownerCode } from './subscription-templates.ts';

/** The owner tag of a Subscription, if it has one. */
export function ownerOf(sub: AdapterSubscription): string | undefined {
  return sub.meta?.tag?.find((t) => t.system === OWNER_TAG_SYSTEM)?.code;
}

/**
 * Whether a Subscription is this instance's: its owner tag is ours, or it has none and points at our endpoint.
 * @param sub - A Subscription with one of the adapter's keys.
 * @param endpoint - This instance's notification endpoint.
 * @returns True when it is ours (wherever it now points).
 */
export function isOwnedBy(sub: AdapterSubscription, endpoint: string): boolean {
  const owner = ownerOf(sub);
  return owner === undefined ? sub.channel?.endpoint === endpoint : owner === ownerCode(endpoint);
}

/** The `_tag` values that find one key's Subscriptions of one owner (repeated `_tag` = both tags). */
export function ownedKeyQuery(key: string, endpoint: string): URLSearchParams {
  return new URLSearchParams([
    ['_tag', `${IDENTIFIER_SYSTEM}|${key}`],
    ['_tag', `${OWNER_TAG_SYSTEM}|${ownerCode(endpoint)}`],
  ]);
}

/**
 * Extensions of `existing` whose URL `desired` does not set, appended to `desired`'s. One whose value the server
 * hid is left out: writing the mask back would destroy the value it hides.
 */
function keepForeign(desired: Extension[] | undefined, existing: Extension[] | undefined): Extension[] | undefined {
  const owned = new Set((desired ?? []).map((e) => e.url));
  const foreign = (existing ?? []).filter((e) => !owned.has(e.url) && e.valueString !== MASKED_SECRET);
  return foreign.length ? [...(desired ?? []), ...foreign] : desired;
}

/**
 * What to write over a server copy: the desired Subscription, plus every extension of the copy (on the resource, its
 * channel, `_criteria` and `_payload`) whose URL the adapter does not set itself.
 * @param desired - What the adapter builds for this server.
 * @param existing - The server's copy.
 * @returns The Subscription to compare with the copy and to write.
 */
export function withForeignExtensions(
  desired: AdapterSubscription,
  existing: AdapterSubscription,
): AdapterSubscription {
  const merged: AdapterSubscription = structuredClone(desired);
  const extension = keepForeign(desired.extension, existing.extension);
  if (extension) merged.extension = extension;
  const channelExtension = keepForeign(desired.channel.extension, existing.channel?.extension);
  if (channelExtension) merged.channel.extension = channelExtension;
  const criteria = keepForeign(desired._criteria?.extension, existing._criteria?.extension);
  if (criteria) merged._criteria = { ...merged._criteria, extension: criteria };
  const payload = keepForeign(desired.channel._payload?.extension, existing.channel?._payload?.extension);
  if (payload) merged.channel._payload = { ...merged.channel._payload, extension: payload };
  return merged;
}
