/** CDS_CLIENTS: the trusted CDS Hooks clients, read at start-up with one line per problem. */
import { describe, expect, it } from 'vitest';
import { type ConfigError, loadConfig } from '../../src/config.ts';

const problems = (value: string): readonly string[] => {
  try {
    loadConfig({ CDS_CLIENTS: value });
  } catch (err) {
    return (err as ConfigError).problems;
  }
  return [];
};
const KEY = { kty: 'EC', crv: 'P-384', x: 'x', y: 'y', kid: 'k1' };

describe('CDS_CLIENTS', () => {
  it('is empty when unset (every hook call refused)', () => {
    expect(loadConfig({}).cdsClients).toEqual([]);
  });

  it('reads inline keys and key URLs', () => {
    const config = loadConfig({
      CDS_CLIENTS: JSON.stringify([
        { iss: 'https://ehr.example.org/', jwks: { keys: [KEY] } },
        { iss: 'https://other.example.org/', jwks_url: 'https://other.example.org/jwks.json' },
        { iss: 'local', jwks_url: 'http://127.0.0.1:9999/jwks.json' },
      ]),
    });
    expect(config.cdsClients).toEqual([
      { iss: 'https://ehr.example.org/', jwks: { keys: [KEY] } },
      { iss: 'https://other.example.org/', jwksUrl: 'https://other.example.org/jwks.json' },
      { iss: 'local', jwksUrl: 'http://127.0.0.1:9999/jwks.json' },
    ]);
  });

  it.each([
    ['not JSON', '[{', 'CDS_CLIENTS: is not JSON (an array of {"iss", "jwks_url"} or {"iss", "jwks"})'],
    ['not an array', '{"iss":"a"}', 'CDS_CLIENTS: Invalid input: expected array, received object'],
    [
      'an entry without keys',
      '[{"iss":"a"}]',
      'CDS_CLIENTS at [0]: each entry needs "iss" and one of "jwks_url" or "jwks"',
    ],
    [
      'a key URL over plain http to another host',
      '[{"iss":"a","jwks_url":"http://ehr.example.org/jwks.json"}]',
      'CDS_CLIENTS at [0.jwks_url]: jwks_url must be an https URL (http only on a loopback host)',
    ],
    [
      'a private key',
      JSON.stringify([{ iss: 'a', jwks: { keys: [{ ...KEY, d: 'secret' }] } }]),
      'CDS_CLIENTS at [0.jwks.keys.0]: jwks must hold public keys only',
    ],
    [
      'the same issuer twice',
      JSON.stringify([
        { iss: 'a', jwks: { keys: [KEY] } },
        { iss: 'a', jwks_url: 'https://a.example.org/jwks.json' },
      ]),
      'CDS_CLIENTS: each "iss" may appear only once',
    ],
  ])('refuses %s', (_label, value, problem) => {
    expect(problems(value)).toEqual([problem]);
  });
});
