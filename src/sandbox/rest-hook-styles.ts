/**
 * One rest-hook delivery as the imitated server sends it: Medplum's (a signed POST of the resource, `{}` for a
 * delete; rest-hook-request.ts) or HAPI FHIR's (SubscriptionDeliveringRestHookSubscriber): with a payload MIME type,
 * `PUT {endpoint}/{type}/{id}` with the resource, and for a delete `DELETE {endpoint}/{type}/{id}` only when the
 * send-delete-messages extension is true; without a payload, an empty `POST {endpoint}` that names nothing. Channel
 * header lines are sent either way. https://hapifhir.io/hapi-fhir/docs/server_jpa_subscription/subscriptions.html
 */
import type { WithId } from '@medplum/core';
import { getExtension, stringify } from '@medplum/core';
import type { Resource, Subscription } from '@medplum/fhirtypes';
import {
  buildRestHookHeaders,
  DEFAULT_MAX_ATTEMPTS,
  maxAttemptsOf,
  type NotifiableInteraction,
} from './rest-hook-request.ts';

export type RestHookStyle = 'medplum' | 'hapi';

export interface RestHookRequest {
  readonly method: 'POST' | 'PUT' | 'DELETE';
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body?: string;
}

const HAPI_RETRY_COUNT = 'http://hapifhir.io/fhir/StructureDefinition/subscription-delivery-retry-count';
const HAPI_SEND_DELETES = 'http://hapifhir.io/fhir/StructureDefinition/subscription-send-delete-messages';

/**
 * The request of one delivery, or undefined when the server sends none for it.
 * @param style - Whose delivery.
 * @param subscription - The Subscription notified.
 * @param resource - The version written (for a delete, the last one before it).
 * @param interaction - What the write did.
 */
export function restHookRequest(
  style: RestHookStyle,
  subscription: WithId<Subscription>,
  resource: WithId<Resource>,
  interaction: NotifiableInteraction,
): RestHookRequest | undefined {
  const endpoint = subscription.channel.endpoint as string;
  if (style === 'medplum') {
    const body = interaction === 'delete' ? '{}' : stringify(resource);
    return {
      method: 'POST',
      url: endpoint,
      headers: buildRestHookHeaders(subscription, resource, interaction, body),
      body,
    };
  }
  const headers = channelHeaders(subscription);
  if (!subscription.channel.payload) return { method: 'POST', url: endpoint, headers };
  const url = `${endpoint.replace(/\/+$/, '')}/${resource.resourceType}/${resource.id}`;
  if (interaction === 'delete') {
    const sendDeletes = getExtension(subscription.channel, HAPI_SEND_DELETES)?.valueBoolean === true;
    return sendDeletes ? { method: 'DELETE', url, headers } : undefined;
  }
  return {
    method: 'PUT',
    url,
    headers: { 'Content-Type': subscription.channel.payload, ...headers },
    body: stringify(resource),
  };
}

/**
 * Attempts in all for one Subscription's deliveries: Medplum's max-attempts extension, or HAPI's retry count + 1.
 * @param style - Whose delivery.
 * @param subscription - The Subscription.
 */
export function restHookAttempts(style: RestHookStyle, subscription: Subscription): number {
  if (style === 'medplum') return maxAttemptsOf(subscription);
  const retries = getExtension(subscription.channel, HAPI_RETRY_COUNT)?.valueInteger;
  return Number.isInteger(retries) && (retries as number) >= 0
    ? Math.min((retries as number) + 1, 19)
    : DEFAULT_MAX_ATTEMPTS;
}

function channelHeaders(subscription: Subscription): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of subscription.channel.header ?? []) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
  }
  return headers;
}
