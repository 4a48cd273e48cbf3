/**
 * The write plan against each sandbox server profile, over HTTP (issue #9 item 1): exactly the outputs the profile
 * can hold, the same after writing twice, the same after a write interrupted half-way; no transaction or
 * conditional request where the profile lists none; what the server's current data gives under `assess` is what is
 * written.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { SandboxProfileName } from '../../src/config/change-detection.ts';
import {
  expectAgreesWithAssess,
  expectAllValid,
  expectedFor,
  loadSample,
  startWriteBench,
  type WriteBench,
  writtenByType,
} from './write-harness.ts';

const CASE = 'confirmed-progression';
let bench: WriteBench | undefined;
afterEach(async () => {
  await bench?.close();
  bench = undefined;
});

describe.each(['medplum', 'hapi', 'epic', 'oracle'] as SandboxProfileName[])(
  'write plan on the %s profile',
  (profile) => {
    it('writes exactly what the profile can hold, once, however often and however interrupted', async () => {
      bench = await startWriteBench(profile);
      await loadSample(bench, CASE);
      const expected = await expectedFor(bench, CASE);
      const first = await bench.assess(CASE);
      expect(first?.written).toBeGreaterThan(0);
      expect(writtenByType(bench, CASE)).toEqual(expected);

      expectAgreesWithAssess(bench, CASE, { flags: profile === 'medplum' || profile === 'hapi' });
      expectAllValid(bench, CASE);

      bench.requests.length = 0;
      const second = await bench.assess(CASE);
      if (profile === 'medplum' || profile === 'hapi') {
        // Nothing to write: one batch reads the context and what the adapter wrote before, and that is all.
        expect(bench.requests.map((r) => r.method)).toEqual(['POST']);
      }
      expect(second).toMatchObject({ written: 0, retracted: 0 });
      expect(writtenByType(bench, CASE)).toEqual(expected);

      if (profile === 'epic' || profile === 'oracle') {
        expect(expected.Flag).toBeUndefined();
        expect(expected.DiagnosticReport).toBeUndefined();
        expect(expected.Observation?.length).toBeGreaterThan(0);
        const base = bench.server.baseUrl;
        const offending = bench.requests.filter(
          (r) =>
            (r.method === 'POST' && (r.url === base || r.url === `${base}/`)) ||
            r.headers['if-none-exist'] !== undefined ||
            ((r.method === 'PUT' || r.method === 'POST') && r.url.includes('?')),
        );
        expect(offending).toEqual([]);
      }
    });

    it.each([
      // One transaction on medplum and hapi: refused whole; one request per resource elsewhere: the first one made.
      ['a write refused half-way', profile === 'medplum' || profile === 'hapi' ? 1 : 2, false],
      ['the first write made but its answer lost', 1, true],
    ] as const)('converges after a write interrupted: %s', async (_name, n, answerLost) => {
      bench = await startWriteBench(profile);
      await loadSample(bench, CASE);
      const expected = await expectedFor(bench, CASE);
      bench.failWritesFrom(n, { answerLost });
      await expect(bench.assess(CASE)).rejects.toThrow();
      const partial = writtenByType(bench, CASE);
      if (answerLost || n > 1) expect(partial).not.toEqual({});
      else expect(partial).toEqual({});
      bench.failWritesFrom(undefined);
      await bench.assess(CASE);
      expect(writtenByType(bench, CASE)).toEqual(expected);
      await bench.assess(CASE);
      expect(writtenByType(bench, CASE)).toEqual(expected);
    });
  },
);
