import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { OutcomeError } from '../../src/fhir-model/outcomes.ts';
import { authenticate, type HeaderBag } from '../../src/intake/authenticate.ts';

const SECRET = 'whsec-3f6c1a9e0b2d4f7a8c5e';
const BODY = Buffer.from('{"resourceType":"Patient","id":"p1"}');
const sign = (body: Buffer, secret = SECRET) => createHmac('sha256', secret).update(body).digest('hex');

const UNAUTHENTICATED = {
  resourceType: 'OperationOutcome',
  issue: [{ severity: 'error', code: 'security', details: { text: 'Notification authentication failed' } }],
};

function refusal(headers: HeaderBag, body = BODY, secret = SECRET): OutcomeError {
  try {
    authenticate(headers, body, secret);
  } catch (err) {
    expect(err).toBeInstanceOf(OutcomeError);
    return err as OutcomeError;
  }
  throw new Error('expected authenticate to throw');
}

describe('authenticate', () => {
  it.each<[string, HeaderBag]>([
    ['the right bearer token', { authorization: `Bearer ${SECRET}` }],
    ['a lowercase bearer scheme', { authorization: `bearer ${SECRET}` }],
    ['the right HMAC over the raw body', { 'x-signature': sign(BODY) }],
    ['the right HMAC in uppercase hex', { 'x-signature': sign(BODY).toUpperCase() }],
    ['a wrong bearer but the right HMAC', { authorization: 'Bearer nope', 'x-signature': sign(BODY) }],
    ['a wrong HMAC but the right bearer', { authorization: `Bearer ${SECRET}`, 'x-signature': 'ab'.repeat(32) }],
  ])('accepts %s', (_label, headers) => {
    expect(authenticate(headers, BODY, SECRET)).toEqual({ ok: true });
  });

  it.each<[string, HeaderBag]>([
    ['no credentials', {}],
    ['a wrong bearer token', { authorization: 'Bearer not-the-secret' }],
    ['the secret as a prefix of the token', { authorization: `Bearer ${SECRET}x` }],
    ['a truncated bearer token', { authorization: `Bearer ${SECRET.slice(0, -1)}` }],
    ['the secret with another scheme', { authorization: `Basic ${SECRET}` }],
    ['the secret without a scheme', { authorization: SECRET }],
    ['an empty bearer', { authorization: 'Bearer ' }],
    ['a wrong signature', { 'x-signature': 'cd'.repeat(32) }],
    ['a truncated signature', { 'x-signature': sign(BODY).slice(0, 63) }],
    ['a signature with an extra character', { 'x-signature': `${sign(BODY)}0` }],
    ['an empty signature', { 'x-signature': '' }],
    [
      'a valid signature over a different body',
      { 'x-signature': sign(Buffer.from('{"resourceType":"Patient","id":"p2"}')) },
    ],
    ['a signature keyed with another secret', { 'x-signature': sign(BODY, 'other-secret') }],
    ['the secret itself as the signature', { 'x-signature': SECRET }],
    ['duplicated signature headers', { 'x-signature': [sign(BODY), sign(BODY)] }],
  ])('refuses %s with a static 401 OperationOutcome', (_label, headers) => {
    const err = refusal(headers);
    expect(err.status).toBe(401);
    expect(err.outcome).toEqual(UNAUTHENTICATED);
    expect(JSON.stringify(err.outcome)).not.toContain(SECRET);
  });

  it('a signature over a body that was altered by one byte is refused', () => {
    const signature = sign(BODY);
    const altered = Buffer.from(BODY);
    altered[altered.length - 2] = 0x33;
    expect(refusal({ 'x-signature': signature }, altered).status).toBe(401);
  });

  it('an empty configured secret refuses everything, even an empty bearer', () => {
    expect(refusal({ authorization: 'Bearer ' }, BODY, '').status).toBe(401);
    expect(refusal({ 'x-signature': sign(BODY, '') }, BODY, '').status).toBe(401);
  });

  it('signs the exact bytes: whitespace differences matter', () => {
    const pretty = Buffer.from('{ "resourceType": "Patient", "id": "p1" }');
    expect(refusal({ 'x-signature': sign(BODY) }, pretty).status).toBe(401);
    expect(authenticate({ 'x-signature': sign(pretty) }, pretty, SECRET)).toEqual({ ok: true });
  });
});
