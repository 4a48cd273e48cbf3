/**
 * The service's Subscriptions at start-up: the sandbox gets Medplum-style ones pointing at this process; a real
 * server only when SUBSCRIBE is on, and then a watcher keeps them delivering (and asks for a catch-up when one was
 * off). With no subscriptions on the server, the poller is the way in.
 */
import type { MedplumClient } from '@medplum/core';
import { SUBSCRIPTION_TOPIC } from '../codes.ts';
import type { Config } from '../config.ts';
import type { Capabilities } from '../fhir/capabilities.ts';
import type { Logger } from '../logging.ts';
import { getSubscriptionTopic } from '../profiles/load-profiles.ts';
import { registerSubscriptions } from '../registration/register-subscriptions.ts';
import { createSubscriptionWatcher, type SubscriptionWatcher } from '../registration/watch-subscriptions.ts';
import type { Enqueue } from './enqueue.ts';

export interface SubscriptionDeps {
  config: Config;
  client: MedplumClient;
  /** Undefined when the server's capabilities could not be read (nothing is registered then). */
  caps: Capabilities | undefined;
  /** The sandbox's base URL when the sandbox is on. */
  sandbox: boolean;
  /** This process's own base URL (what the sandbox's Subscriptions point at). */
  url: string;
  enqueue: Enqueue;
  logger: Logger;
  watchIntervalMs: number;
}

/**
 * Registers the Subscriptions the service needs and starts the watcher for a real server.
 * @returns The running watcher, if any.
 */
export async function setUpSubscriptions(deps: SubscriptionDeps): Promise<SubscriptionWatcher | undefined> {
  const { config, client, caps } = deps;
  if (!caps) return undefined;
  if (deps.sandbox) {
    // The sandbox's profile decides: Medplum-style Subscriptions, HAPI-style ones without payload (HAPI then notifies
    // with an empty POST and the adapter catches up), or none where the imitated server has no Subscription.
    if (!caps.restHook) return undefined;
    const hapi = config.detection.sandboxProfile === 'hapi';
    await registerSubscriptions(client, caps, {
      publicUrl: deps.url,
      secret: config.webhook.secret,
      flavour: hapi ? 'hapi' : 'medplum',
      withoutPayload: hapi,
    });
    return undefined;
  }
  if (!config.subscribe) return undefined;
  const registerOptions = {
    publicUrl: config.publicUrl,
    secret: config.webhook.secret,
    topic: getSubscriptionTopic(SUBSCRIPTION_TOPIC),
  };
  const result = await registerSubscriptions(client, caps, registerOptions);
  deps.logger.info(
    { created: result.created.length, updated: result.updated.length, unchanged: result.unchanged.length },
    'subscriptions registered',
  );
  const watcher = createSubscriptionWatcher({
    client,
    caps,
    intervalMs: deps.watchIntervalMs,
    options: { ...registerOptions, onCatchUp: (req) => deps.enqueue([req]) },
  });
  watcher.start();
  return watcher;
}

/** Whether the poller runs on its own: an interval is set, or the server has no rest-hook (never for the sandbox). */
export function pollsOnItsOwn(config: Config, sandbox: boolean, caps: Capabilities | undefined): boolean {
  if (sandbox) return false;
  return config.pollIntervalSeconds > 0 || (caps !== undefined && !caps.restHook);
}
