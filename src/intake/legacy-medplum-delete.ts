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

/** Unverified deletes let through per window (per process); beyond it 429, and the server retries later. */
export const UNVERIFIED_DELETES_PER_WINDOW = 50;
export const UNVERIFIED_DELETE_WINDOW_MS = 10_000;

/** A fixed-window counter of unverified deletes: each costs the FHIR server a history read, so they are capped. */
export interface UnverifiedDeleteLimit {
  /** True when one more may go through now. */
  take(): boolean;
}

/**
 * Creates the cap on unverified deletes.
 * @param now - The clock (tests drive it).
 * @returns The limit.
 */
export function createUnverifiedDeleteLimit(now: () => number = Date.now): UnverifiedDeleteLimit {
  let windowStart = Number.NEGATIVE_INFINITY;
  let used = 0;
  return {
    take() {
      const t = now();
      if (t - windowStart >= UNVERIFIED_DELETE_WINDOW_MS) {
        windowStart = t;
        used = 0;
      }
      if (used >= UNVERIFIED_DELETES_PER_WINDOW) return false;
      used++;
      return true;
    },
  };
}
