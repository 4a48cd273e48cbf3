/**
 * References between the entries of a write sent as more than one request (a sequence, or batches): the `Type/id` a
 * server assigned to an entry's `urn:uuid:` fullUrl, put in place of that fullUrl in later entries' references and
 * conditional URLs; an entry that still refers to an entry not yet written cannot be sent.
 * https://hl7.org/fhir/R4/bundle.html#references
 */
import type { BundleEntry, Resource } from '@medplum/fhirtypes';

/** `Type/id` of what the server wrote: from the returned resource, else from Location (`.../Type/id/_history/v`). */
export function assignedReference(
  body: Resource | undefined,
  location: string | undefined,
  entry: BundleEntry,
): string | undefined {
  const type = entry.resource?.resourceType;
  if (body && body.resourceType !== 'OperationOutcome' && body.id && (!type || body.resourceType === type)) {
    return `${body.resourceType}/${body.id}`;
  }
  if (location) {
    const path = (URL.canParse(location) ? new URL(location).pathname : (location.split('?')[0] ?? ''))
      .replace(/\/_history\/[^/]+\/?$/, '')
      .split('/')
      .filter(Boolean);
    const id = path.at(-1);
    const locType = path.at(-2);
    if (id && locType && /^[A-Z][A-Za-z]+$/.test(locType)) return `${locType}/${id}`;
  }
  return undefined;
}

/** Deep copy of an entry with every resolved `urn:uuid:` replaced, in references and in conditional URLs. */
export function resolveReferences(entry: BundleEntry, assigned: Map<string, string>): BundleEntry {
  if (assigned.size === 0) return entry;
  const replaceIn = (text: string): string => {
    let out = text;
    for (const [urn, ref] of assigned) {
      if (out.includes(urn)) out = out.split(urn).join(ref);
    }
    return out;
  };
  const walk = (value: unknown, key?: string): unknown => {
    if (Array.isArray(value)) return value.map((v) => walk(v));
    if (value && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v, k)]));
    }
    if (typeof value === 'string' && key === 'reference') return assigned.get(value) ?? value;
    return value;
  };
  const resolved = walk(entry) as BundleEntry;
  if (resolved.request) {
    const request: BundleEntry['request'] = { ...resolved.request };
    request.url = replaceIn(request.url);
    if (request.ifNoneExist) request.ifNoneExist = replaceIn(request.ifNoneExist);
    resolved.request = request;
  }
  return resolved;
}

/** A `urn:uuid:` reference (other than the entry's own fullUrl) still present after resolution. */
export function findUnresolved(entry: BundleEntry, ownFullUrl: string | undefined): string | undefined {
  let found: string | undefined;
  const walk = (value: unknown, key?: string): void => {
    if (found) return;
    if (Array.isArray(value)) {
      for (const v of value) walk(v);
    } else if (value && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) walk(v, k);
    } else if (
      typeof value === 'string' &&
      key === 'reference' &&
      value.startsWith('urn:uuid:') &&
      value !== ownFullUrl
    ) {
      found = value;
    }
  };
  walk(entry.resource);
  const conditional = [entry.request?.url, entry.request?.ifNoneExist].find((v) => v?.includes('urn:uuid:'));
  return found ?? conditional;
}
