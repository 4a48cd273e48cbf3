/**
 * The service's change detection (issue #9 item 2, issue #11 item 5): the mode chosen from the server's
 * CapabilityStatement and the settings (src/polling/change-detection.ts), started after the routes are mounted (the
 * sandbox answers its metadata over this process's HTTP); every patient queued by any way joins the watch list.
 */
import type { MedplumClient } from '@medplum/core';
import type { CapabilityStatement } from '@medplum/fhirtypes';
import { createBulkClient } from '../bulk/bulk-client.ts';
import { SANDBOX_GROUP_ID } from '../config/change-detection.ts';
import type { Config } from '../config.ts';
import { type FetchFn, fhirBaseUrlOf } from '../fhir/client-factory.ts';
import { type ChangeDetection, createChangeDetection } from '../polling/change-detection.ts';
import type { StateStore } from '../queue/state-store.ts';
import type { Enqueue } from './enqueue.ts';

/** The server's CapabilityStatement, or undefined when it cannot be read now. */
async function readStatement(client: MedplumClient): Promise<CapabilityStatement | undefined> {
  try {
    const cs = await client.get<CapabilityStatement>(`${fhirBaseUrlOf(client)}/metadata`, {
      headers: { Accept: 'application/fhir+json' },
    });
    return cs?.resourceType === 'CapabilityStatement' ? cs : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Chooses and builds the change detection (not started).
 * @param deps - Config, FHIR client, state store, enqueue, and the sandbox's base URL and fetch when there are.
 * @returns The change detection.
 */
export async function setUpChangeDetection(deps: {
  config: Config;
  client: MedplumClient;
  state: StateStore;
  enqueue: Enqueue;
  sandboxBaseUrl?: string;
  fetch?: FetchFn;
}): Promise<ChangeDetection> {
  const { config } = deps;
  const sandbox = deps.sandboxBaseUrl !== undefined;
  const groupId = config.detection.bulkGroupId ?? (sandbox ? SANDBOX_GROUP_ID : undefined);
  return createChangeDetection({
    client: deps.client,
    capabilityStatement: await readStatement(deps.client),
    ...(config.detection.mode ? { configured: config.detection.mode } : {}),
    subscribes: sandbox || config.subscribe,
    ...(groupId ? { groupId } : {}),
    bulk: () =>
      createBulkClient(config, {
        ...(deps.sandboxBaseUrl ? { baseUrl: deps.sandboxBaseUrl } : {}),
        ...(deps.fetch ? { fetch: deps.fetch } : {}),
      }),
    store: deps.state,
    enqueue: (jobs) => deps.enqueue(jobs),
    safetyNetSeconds: config.pollIntervalSeconds,
    detectionSeconds: config.detection.intervalSeconds,
  });
}

/**
 * An enqueue that tells the watch list of every patient queued (set once the detection exists).
 * @param enqueue - The enqueue.
 * @returns The enqueue and the setter of the watch list's `remember`.
 */
export function rememberingEnqueue(enqueue: Enqueue): {
  enqueue: Enqueue;
  use(detection: ChangeDetection): void;
} {
  let remember: ChangeDetection['remember'] = async () => undefined;
  return {
    enqueue: async (jobs, options) => {
      await enqueue(jobs, options);
      const patients = jobs.flatMap((j) => (j.kind === 'assess-patient' ? [j.patientId] : []));
      if (patients.length) await remember(patients).catch(() => undefined);
    },
    use(detection) {
      remember = detection.remember;
    },
  };
}
