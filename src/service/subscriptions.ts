/**
 * The service's Subscriptions at start-up: the sandbox gets Medplum-style ones pointing at this process; a real
 * server only when SUBSCRIBE is on (off by default: nothing is registered on a hospital's server unasked), and then a
 * watcher keeps them delivering here (and asks for a catch-up when one was off or pointed elsewhere), and /readyz
 * says `subscriptions` not ok while one is not delivering here. With no subscriptions, the poller is the way in.
 */
import type { MedplumClient } from '@medplum/core';
import { SUBSCRIPTION_TOPIC } from '../codes.ts';
import type { Config } from '../config.ts';
import type { Capabilities } from '../fhir/capabilities.ts';
import type { Logger } from '../logging.ts';
import { getSubscriptionTopic } from '../profiles/load-profiles.ts';
import { registerSubscriptions } from '../registration/register-subscriptions.ts';
import {
  createSubscriptionWatcher,
  inspectSubscriptions,
  type SubscriptionWatcher,
} from '../registration/watch-subscriptions.ts';
import type { ReadinessCheck } from '../server/health-routes.ts';
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

export interface SubscriptionSetUp {
  watcher?: SubscriptionWatcher;
  /** The /readyz check of this instance's Subscriptions (real server, SUBSCRIBE on). */
  readiness?: ReadinessCheck;
}

/** A readiness probe looks at the server at most this often; in between it answers what it saw last. */
const INSPECT_EVERY_MS = 30_000;

/**
 * The `subscriptions` readiness check: every key delivering to this instance. When one is not, the watcher is run
 * at once (it repairs and asks for a catch-up) and the check says so until a look finds them delivering again.
 */
function subscriptionReadiness(
  client: MedplumClient,
  caps: Capabilities,
  options: Parameters<typeof inspectSubscriptions>[2],
  watcher: SubscriptionWatcher,
): ReadinessCheck {
  let last: { at: number; result: Awaited<ReturnType<typeof inspectSubscriptions>> } | undefined;
  return {
    name: 'subscriptions',
    async check() {
      if (!last || Date.now() - last.at > INSPECT_EVERY_MS || !last.result.ok) {
        last = { at: Date.now(), result: await inspectSubscriptions(client, caps, options) };
        if (!last.result.ok) void watcher.runOnce().catch(() => undefined);
      }
      const { ok, ...detail } = last.result;
      return { ok, detail };
    },
  };
}

/**
 * Registers the Subscriptions the service needs and starts the watcher for a real server.
 * @returns The running watcher and its readiness check, if any.
 */
export async function setUpSubscriptions(deps: SubscriptionDeps): Promise<SubscriptionSetUp> {
  const { config, client, caps } = deps;
  if (!caps) return {};
  if (deps.sandbox) {
    // The sandbox's profile decides: Medplum-style Subscriptions, HAPI-style ones without payload (HAPI then notifies
    // with an empty POST and the adapter catches up), or none where the imitated server has no Subscription.
    if (!caps.restHook) return {};
    const hapi = config.detection.sandboxProfile === 'hapi';
    await registerSubscriptions(client, caps, {
      publicUrl: deps.url,
      secret: config.webhook.secret,
      flavour: hapi ? 'hapi' : 'medplum',
      withoutPayload: hapi,
    });
    return {};
  }
  if (!config.subscribe) return {};
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
  return { watcher, readiness: subscriptionReadiness(client, caps, registerOptions, watcher) };
}
