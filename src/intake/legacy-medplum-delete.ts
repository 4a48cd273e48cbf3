/**
 * Medplum releases before medplum/medplum PR 6557 (issues 4198 and 4906) sign a delete notification over the deleted
 * resource while sending `{}` as the body, so its X-Signature can never match the bytes received. Such a delivery is
 * recognised by its exact shape (POST, body `{}`, `X-Medplum-Interaction: delete`, a `Type/id` in
 * `X-Medplum-Deleted-Resource`, a 64-hex X-Signature) and accepted unverified, because what it can cause is bounded:
 * one resolve-resource job for the named resource, which the worker reads from the FHIR server itself (its history),
 * so at most one reassessment of a patient that exists there. Nothing from the request is trusted beyond the name.
 * https://www.medplum.com/docs/subscriptions/subscription-extensions
 */
import { parseReference, type ResourceKey } from '../fhir-model/references.ts';
import type { NotificationRequest } from './notification-model.ts';

function header(request: NotificationRequest, name: string): string | undefined {
  const value = request.headers[name];
  return typeof value === 'string' ? value.trim() : undefined;
}

/**
 * The resource a pre-PR-6557 Medplum delete names, when the request has exactly that shape; otherwise undefined (and
 * the request must authenticate as any other).
 * @param request - The notification request.
 * @returns The deleted resource's type and id.
 */
export function legacyMedplumDelete(request: NotificationRequest): ResourceKey | undefined {
  if (request.method.toUpperCase() !== 'POST') return undefined;
  if (request.rawBody.toString('utf8').trim() !== '{}') return undefined;
  if (header(request, 'x-medplum-interaction')?.toLowerCase() !== 'delete') return undefined;
  if (!/^[0-9a-f]{64}$/i.test(header(request, 'x-signature') ?? '')) return undefined;
  const deleted = header(request, 'x-medplum-deleted-resource');
  const parsed = deleted === undefined ? undefined : parseReference(deleted);
  return parsed?.kind === 'literal' ? parsed.key : undefined;
}
