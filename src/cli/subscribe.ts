/** `irecist-adapter subscribe`: creates or updates this instance's Subscriptions on the configured server, then exits. */
import { SUBSCRIPTION_TOPIC } from '../codes.ts';
import { ConfigError, loadConfig } from '../config.ts';
import { readCapabilities } from '../fhir/capabilities.ts';
import { createFhirClient } from '../fhir/client-factory.ts';
import { getSubscriptionTopic } from '../profiles/load-profiles.ts';
import { registerSubscriptions } from '../registration/register-subscriptions.ts';
import { type CliIo, type Command, type CommandSpec, runCommand } from './command-line.ts';
import { commandError, issueText } from './report-error.ts';

const spec = {
  name: 'subscribe',
  summary: "create or update this instance's Subscriptions on FHIR_BASE_URL (idempotent), then exit",
  description:
    'Subscriptions belong to one endpoint (PUBLIC_URL/notifications). When the server already delivers the\n' +
    "adapter's notifications to another instance, subscribe refuses (exit 1) unless --force, which adds this\n" +
    "instance's own Subscriptions beside them; another instance's Subscriptions are never changed.\n" +
    'Result (JSON: keys created, updated, unchanged, removed) on stdout.',
  options: {
    force: { type: 'boolean', description: "add this instance's Subscriptions even when another instance's exist" },
  },
  environment: [
    'FHIR_BASE_URL, FHIR_AUTH...  the FHIR server and how to authenticate',
    'PUBLIC_URL                   where the server reaches this instance',
    'WEBHOOK_SECRET               the notification credential the Subscriptions carry',
  ],
  examples: [
    'FHIR_BASE_URL=... WEBHOOK_SECRET=... PUBLIC_URL=https://adapter.example.org npx irecist-adapter subscribe',
  ],
} as const satisfies CommandSpec;

async function subscribe(force: boolean, io: CliIo): Promise<number> {
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
      force,
    });
    const { created, updated, unchanged, removed, otherEndpoints } = result;
    io.stdout(`${JSON.stringify({ created, updated, unchanged, removed, otherEndpoints }, null, 2)}\n`);
    io.stderr(
      `Subscriptions: ${created.length} created, ${updated.length} updated, ${unchanged.length} unchanged.\n` +
        (otherEndpoints.length
          ? `Another instance's Subscriptions also deliver to ${otherEndpoints.join(', ')}.\n`
          : ''),
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

/** `irecist-adapter subscribe [--force]`. */
export const subscribeCommand: Command = {
  spec,
  run: (args, io) => runCommand(spec, args, io, ({ values }) => subscribe(values.force === true, io)),
};
