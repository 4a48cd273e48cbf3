/**
 * The sandbox's Subscription exposure rules on their own (src/sandbox/subscription-exposure.ts): which endpoints an
 * allow-list admits, what a reader sees of a Subscription, and how a masked copy written back keeps the secret. Over
 * HTTP against the whole service: test/attack/sandbox-exposure.test.ts.
 */
import type { WithId } from '@medplum/core';
import type { Bundle, Subscription } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { endpointAllowed, maskSecrets, subscriptionWriteGuard } from '../../src/sandbox/subscription-exposure.ts';

const SECRET_URL = 'https://www.medplum.com/fhir/StructureDefinition/subscription-secret';
const own = 'http://127.0.0.1:8080/notifications';

const subscription = (endpoint: string, secret = 's3cr3t-value-0123'): WithId<Subscription> => ({
  resourceType: 'Subscription',
  id: 'sub-1',
  status: 'active',
  reason: 'test',
  criteria: 'Patient',
  extension: [{ url: SECRET_URL, valueString: secret }],
  channel: { type: 'rest-hook', endpoint, header: [`Authorization: Bearer ${secret}`, 'X-Trace: on'] },
});

describe('endpointAllowed', () => {
  it.each([
    [own, [own], true],
    [`${own}/`, [own], true],
    [`${own}?x=1`, [own], true],
    ['http://127.0.0.1:8080/notificationsX', [own], false],
    ['http://127.0.0.1:8081/notifications', [own], false],
    ['http://localhost:8080/notifications', [own], false],
    ['http://user:pw@127.0.0.1:8080/notifications', [own], false],
    ['http://hooks.local/a/b', ['http://hooks.local/a/'], true],
    ['http://hooks.local/a/../b', ['http://hooks.local/a/'], false],
    ['http://hooks.local/ab', ['http://hooks.local/a/'], false],
    ['not a url', [own], false],
  ])('%s in %j -> %s', (endpoint, allowed, expected) => {
    expect(endpointAllowed(endpoint, allowed)).toBe(expected);
  });
});

describe('maskSecrets', () => {
  it('masks the secret extension and header values, in a Subscription and inside Bundles', () => {
    const sub = subscription(own);
    const bundle: Bundle = { resourceType: 'Bundle', type: 'searchset', entry: [{ resource: sub }] };
    for (const masked of [maskSecrets(sub), maskSecrets(bundle)]) {
      const text = JSON.stringify(masked);
      expect(text).not.toContain('s3cr3t-value-0123');
      expect(text).toContain('Authorization: ***');
      expect(text).toContain('X-Trace: ***');
    }
    expect(JSON.stringify(sub)).toContain('s3cr3t-value-0123'); // the stored one untouched
  });

  it('leaves other resources as they are', () => {
    const patient = { resourceType: 'Patient' as const, id: 'p' };
    expect(maskSecrets(patient)).toBe(patient);
  });
});

describe('subscriptionWriteGuard', () => {
  const guard = subscriptionWriteGuard([own]);

  it('a masked copy written back keeps the stored secret and headers', () => {
    const stored = subscription(own);
    const copy = maskSecrets(stored) as WithId<Subscription>;
    const written = guard(copy, stored) as Subscription;
    expect(written.extension).toEqual(stored.extension);
    expect(written.channel.header).toEqual(stored.channel.header);
  });

  it('a new secret replaces the stored one', () => {
    const written = guard(subscription(own, 'another-secret-4567'), subscription(own)) as Subscription;
    expect(written.extension?.[0]?.valueString).toBe('another-secret-4567');
  });

  it('refuses an endpoint outside the list; undefined list allows any', () => {
    expect(() => guard(subscription('http://elsewhere.example/hook'), undefined)).toThrow(
      /SANDBOX_SUBSCRIPTION_ENDPOINTS/,
    );
    expect(subscriptionWriteGuard(undefined)(subscription('http://elsewhere.example/hook'), undefined)).toBeDefined();
  });
});
