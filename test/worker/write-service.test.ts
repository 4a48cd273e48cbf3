/**
 * End to end per profile (issue #9, "How it will be judged"): the service in sandbox mode imitating a server, a case
 * loaded with POST /sandbox/load, found by the profile's change detection, assessed and written: exactly the outputs
 * the profile can hold, the same after the case is loaded again (nothing doubled).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { SandboxProfileName } from '../../src/config/change-detection.ts';
import type { RunningService } from '../../src/service/start-service.ts';
import { caseTransaction, loadCase } from '../e2e/cases.ts';
import { dropSchema, loadIntoSandbox, startTestService, uniqueSchema, waitFor, waitForQuiet } from '../e2e/harness.ts';
import { expectAgreesWithAssess, expectAllValid, expectedFor, writtenByType } from './write-harness.ts';

let service: RunningService | undefined;
let schema: string | undefined;
afterEach(async () => {
  await service?.close();
  if (schema) await dropSchema(schema);
  service = undefined;
});

describe.each(['medplum', 'hapi', 'epic', 'oracle'] as SandboxProfileName[])(
  'the %s profile, end to end',
  (profile) => {
    it('a loaded case ends with exactly the outputs the profile holds, once', { timeout: 60_000 }, async () => {
      schema = uniqueSchema(`write_${profile}`);
      service = await startTestService({ database: 'postgres', schema, env: { SANDBOX_PROFILE: profile } });
      const view = { server: { repo: service.sandbox!.repo, baseUrl: service.sandbox!.baseUrl } } as never;
      const tc = loadCase('confirmed-progression', `w-${profile}`);
      // Data from before the first start is backfill's: detection starts from the checkpoint of its first run.
      const key = profile === 'epic' ? 'bulk-export-checkpoint' : service.detection.checkpointKey;
      await waitFor(async () => (await service?.state.get(key)) !== undefined, 'checkpoint');
      await loadIntoSandbox(service.url, caseTransaction(tc));
      const expected = await expectedFor(view, tc.patientId);
      const detect = async () => {
        // Detection modes without notifications run on their schedule (every few seconds in sandbox mode).
        await waitForQuiet(service!);
        return JSON.stringify(writtenByType(view, tc.patientId)) === JSON.stringify(expected);
      };
      await waitFor(detect, `${profile}: the outputs of ${tc.name}`, 40_000);
      expectAgreesWithAssess(view, tc.patientId, { flags: profile === 'medplum' || profile === 'hapi' });
      expectAllValid(view, tc.patientId);
      // Loaded again: nothing doubled, whether or not detection sees it as a change.
      await loadIntoSandbox(service.url, caseTransaction(tc));
      await new Promise((r) => setTimeout(r, 6_000));
      await waitForQuiet(service);
      expect(writtenByType(view, tc.patientId)).toEqual(expected);
    });
  },
);
