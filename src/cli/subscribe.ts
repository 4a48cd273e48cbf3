/** `irecist-adapter subscribe`: creates or updates the adapter's Subscriptions on the configured server, then exits. */

import { SUBSCRIPTION_TOPIC } from '../codes.ts';
import { ConfigError, loadConfig } from '../config.ts';
import { readCapabilities } from '../fhir/capabilities.ts';
import { createFhirClient } from '../fhir/client-factory.ts';
import { getSubscriptionTopic } from '../profiles/load-profiles.ts';
import { registerSubscriptions } from '../registration/register-subscriptions.ts';
import type { CliIo } from './assess.ts';
import { commandError, issueText } from './report-error.ts';

export async function runSubscribe(io: CliIo): Promise<number> {
  try {
    const config = loadConfig();
    if (config.sandbox) {
      io.stderr('FHIR_BASE_URL is not set: the sandbox registers its own Subscriptions when the service starts.\n');
      return 2;
    }
    const client = createFhirClient(config);
    const caps = await readCapabilities(client);
    const result = await registerSubscriptions(client, caps, {
      publicUrl: config.publicUrl,
      secret: config.webhook.secret,
      topic: getSubscriptionTopic(SUBSCRIPTION_TOPIC),
    });
    io.stdout(
      `${JSON.stringify({ created: result.created, updated: result.updated, unchanged: result.unchanged, removed: result.removed }, null, 2)}\n`,
    );
    io.stderr(
      `Subscriptions: ${result.created.length} created, ${result.updated.length} updated, ${result.unchanged.length} unchanged.\n`,
    );
    return 0;
  } catch (err) {
    if (err instanceof ConfigError) {
      io.stderr(`${err.message}\n`);
      return 2;
    }
    const reply = commandError(err, 'subscribe');
    io.stderr(`error: ${issueText(reply)} (status ${reply.status})\n`);
    return 1;
  }
}
