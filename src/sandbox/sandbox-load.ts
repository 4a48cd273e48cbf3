/**
 * Loading data into the sandbox as the hospital's own systems would (`POST /sandbox/load`, contract section 4): a
 * transaction or collection Bundle stored whatever the server profile restricts (the profile governs the FHIR API a
 * client such as the adapter uses, not the hospital's own feeds), as one unit of work in the sandbox's one queue,
 * notifying Subscriptions like any write where the profile has them. Where the profile says so (epic, which offers
 * Group `$export`) the sandbox keeps the Group `oncology` (SANDBOX_GROUP_ID) of every patient loaded: the cohort the
 * adapter watches.
 */
import { getStatus, type WithId } from '@medplum/core';
import type { FhirRequest, FhirRouter } from '@medplum/fhir-router';
import type { Bundle, BundleEntry, Group, Resource } from '@medplum/fhirtypes';
import { SANDBOX_GROUP_ID } from '../config/change-detection.ts';
import { badRequest, OutcomeError } from '../fhir-model/outcomes.ts';
import { processBundle } from './bundle-handler.ts';
import type { SandboxRepository, WriteEvent } from './memory-store.ts';
import { runInRequestContext } from './request-context.ts';
import { runUnit } from './sandbox-router.ts';
import type { SerialQueue } from './serial-queue.ts';
import type { ServerProfile } from './server-profiles/profile-model.ts';

export interface LoadResult {
  /** The transaction-response Bundle. */
  readonly response: Bundle;
  /** The committed writes (unchanged ones included). */
  readonly events: readonly WriteEvent[];
  /** Ids of the Patients the Bundle held. */
  readonly patientIds: readonly string[];
}

/** Loads one Bundle; `answered` resolves when the caller's response is out (notifications wait for it). */
export type SandboxLoad = (bundle: unknown, answered?: Promise<void>) => Promise<LoadResult>;

export interface LoaderDeps {
  readonly repo: SandboxRepository;
  readonly fhirRouter: FhirRouter;
  readonly queue: SerialQueue;
  readonly profile: ServerProfile;
}

/**
 * The sandbox's loader.
 * @param deps - The repository, router, queue and profile of the sandbox.
 * @returns The load function.
 */
export function createSandboxLoader(deps: LoaderDeps): SandboxLoad {
  const keepsGroup = deps.profile.keepsCohortGroup;
  return async (input, answered) => {
    const transaction = asTransaction(input);
    const context = { events: [] as WriteEvent[], answered: answered ?? Promise.resolve() };
    const request: FhirRequest = {
      method: 'POST',
      url: '/',
      pathname: '',
      body: transaction,
      params: {},
      query: {},
      headers: {},
      config: { transactions: false },
    };
    const [result, response] = await deps.queue.run(() =>
      runInRequestContext(context, () =>
        runUnit(deps.repo, async () => {
          const processed = await processBundle(request, deps.repo, deps.fhirRouter);
          if (keepsGroup && processed[1]) await addToGroup(deps.repo, patientsOf(processed[1] as Bundle));
          return processed;
        }),
      ),
    );
    if (response?.resourceType !== 'Bundle') throw new OutcomeError(result, getStatus(result));
    return { response: response as Bundle, events: context.events, patientIds: patientsOf(response as Bundle) };
  };
}

/** The Bundle as a transaction: a collection's entries become `PUT Type/id` (with an id) or `POST Type`. */
function asTransaction(input: unknown): Bundle {
  const bundle = input as Bundle | undefined;
  if (bundle?.resourceType !== 'Bundle') throw badRequest('Request body must be a Bundle', ['Bundle']);
  if (bundle.type === 'transaction') return bundle;
  if (bundle.type !== 'collection') {
    throw badRequest('Bundle type must be transaction or collection', ['Bundle.type']);
  }
  const entry = (bundle.entry ?? []).map((e, index): BundleEntry => {
    const resource = e.resource as Resource | undefined;
    if (!resource?.resourceType) throw badRequest('Collection entry without a resource', [`Bundle.entry[${index}]`]);
    const request = resource.id
      ? { method: 'PUT' as const, url: `${resource.resourceType}/${resource.id}` }
      : { method: 'POST' as const, url: resource.resourceType };
    return { ...(e.fullUrl ? { fullUrl: e.fullUrl } : {}), resource, request };
  });
  return { resourceType: 'Bundle', type: 'transaction', entry };
}

function patientsOf(response: Bundle): string[] {
  const ids = (response.entry ?? [])
    .map((e) => e.resource)
    .filter((r): r is WithId<Resource> => r?.resourceType === 'Patient' && typeof r.id === 'string')
    .map((r) => r.id);
  return [...new Set(ids)];
}

/** Adds patients to the sandbox's Group (created on first use); no new version when every one is a member. */
async function addToGroup(repo: SandboxRepository, patientIds: readonly string[]): Promise<void> {
  if (patientIds.length === 0) return;
  const existing = repo.listCurrent<Group>('Group').find((g) => g.id === SANDBOX_GROUP_ID);
  const members = new Set((existing?.member ?? []).map((m) => m.entity.reference));
  const added = patientIds.map((id) => `Patient/${id}`).filter((ref) => !members.has(ref));
  if (added.length === 0) return;
  const group: Group = {
    resourceType: 'Group',
    id: SANDBOX_GROUP_ID,
    type: 'person',
    actual: true,
    name: 'Oncology patients (sandbox)',
    member: [...(existing?.member ?? []), ...added.map((reference) => ({ entity: { reference } }))],
  };
  group.quantity = group.member?.length;
  await repo.updateResource(group);
}
