/**
 * Comparing a server's copy of a Subscription with the one the adapter wants: only the parts the adapter manages
 * (criteria, reason, extensions, profiles, tags, channel), in an order-independent form, so a second registration run
 * changes nothing; and which statuses deliver.
 */
import type { Subscription } from '@medplum/fhirtypes';
import { BASE, MASKED_SECRET } from '../codes.ts';
import type { AdapterSubscription, Flavour } from './subscription-templates.ts';

/** JSON with object keys sorted and undefined members dropped: equal content, equal text. */
export function stable(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stable).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stable(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

const sortedJson = (list: readonly unknown[] | undefined): string[] => (list ?? []).map(stable).sort();

/** The parts of a Subscription the adapter manages; server-owned parts (id, versions, status, error) are left out. */
function managedView(sub: AdapterSubscription): unknown {
  const ch = sub.channel ?? ({} as AdapterSubscription['channel']);
  return {
    criteria: sub.criteria,
    criteriaExt: sortedJson(sub._criteria?.extension),
    reason: sub.reason,
    extension: sortedJson(sub.extension),
    profile: [...(sub.meta?.profile ?? [])].sort(),
    tag: sortedJson(
      sub.meta?.tag?.filter((t) => t.system?.startsWith(BASE)).map(({ system, code }) => ({ system, code })),
    ),
    channel: {
      type: ch.type,
      endpoint: ch.endpoint,
      payload: ch.payload,
      payloadExt: sortedJson(ch._payload?.extension),
      header: [...(ch.header ?? [])].sort(),
      extension: sortedJson(ch.extension),
    },
  };
}

const headerName = (line: string): string => line.slice(0, line.indexOf(':')).trim().toLowerCase();
const isMaskedHeader = (line: string): boolean => line.slice(line.indexOf(':') + 1).trim() === MASKED_SECRET;

/**
 * The desired Subscription as a server that hides credentials would show it: where the server copy has a masked
 * header or secret extension, the desired one's value is masked the same way (what is hidden cannot be compared).
 */
function maskedLike(existing: AdapterSubscription, desired: AdapterSubscription): AdapterSubscription {
  const maskedHeaders = new Set((existing.channel?.header ?? []).filter(isMaskedHeader).map(headerName));
  const maskedExtensions = new Set(
    (existing.extension ?? []).filter((e) => e.valueString === MASKED_SECRET).map((e) => e.url),
  );
  if (maskedHeaders.size === 0 && maskedExtensions.size === 0) return desired;
  return {
    ...desired,
    extension: desired.extension?.map((e) => (maskedExtensions.has(e.url) ? { ...e, valueString: MASKED_SECRET } : e)),
    channel: {
      ...desired.channel,
      header: desired.channel.header?.map((line) =>
        maskedHeaders.has(headerName(line)) ? `${line.slice(0, line.indexOf(':'))}: ${MASKED_SECRET}` : line,
      ),
    },
  };
}

/** True when the server copy has the same managed content as the desired Subscription (masked values aside). */
export function sameSubscriptionContent(existing: AdapterSubscription, desired: AdapterSubscription): boolean {
  return stable(managedView(existing)) === stable(managedView(maskedLike(existing, desired)));
}

/** Statuses under which a Subscription delivers (Medplum never moves `requested` to `active`). */
export function isDelivering(status: Subscription['status'] | undefined, flavour: Flavour): boolean {
  return status === 'active' || (status === 'requested' && flavour !== 'medplum');
}
