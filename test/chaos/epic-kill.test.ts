/**
 * Issue #9 judging on the `epic` profile: the real adapter (a child process) against a sandbox server imitating Epic
 * (no Subscriptions, no transaction, no conditional request, Group `$export`), watching the Group `oncology` that
 * POST /sandbox/load keeps; cases loaded, the adapter SIGKILLed while it writes their outputs, started again on the
 * same database. Every patient ends with exactly the outputs Epic can hold (CancerDiseaseStatus and timepoint
 * Observations, DocumentReferences), as `assess` gives for the server's data, nothing doubled.
 */
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { caseNames, loadCase } from '../e2e/cases.ts';
import { loadIntoSandbox, startSandboxServer } from '../e2e/harness.ts';
import { expectedOutputs, keyOf, written } from '../e2e/profile-outputs.ts';
import { adapterProcess, scratchDatabase } from './adapter-process.ts';

async function until(check: () => boolean, what: string, timeoutMs: number, output: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('epic profile: killed mid-write and restarted', () => {
  it('every patient ends with exactly the outputs Epic can hold, nothing doubled', { timeout: 180_000 }, async () => {
    const cleanups: (() => Promise<void>)[] = [];
    try {
      const fhir = await startSandboxServer({ profile: 'epic' });
      cleanups.push(() => fhir.close());
      const scratch = await scratchDatabase('epickill');
      cleanups.push(() => scratch.drop());
      const adapter = await adapterProcess({
        fhirBaseUrl: fhir.baseUrl,
        database: { kind: 'postgres', url: scratch.url },
        label: 'epic-adapter',
        // The Group to watch (a real Epic's cohort is a setting); a run each second so the drill takes seconds.
        env: { BULK_GROUP_ID: 'oncology', POLL_INTERVAL_SECONDS: '1' },
      });
      cleanups.push(() => adapter.stop());
      await adapter.start();

      const cases = caseNames().map((name) => loadCase(name, 'epic-kill'));
      for (const tc of cases) {
        const bundle: Bundle = {
          resourceType: 'Bundle',
          type: 'collection',
          entry: tc.resources.map((resource) => ({ resource })),
        };
        await loadIntoSandbox(fhir.url, bundle);
      }
      const adapterWritten = () => fhir.repo.listCurrent<Resource>('Observation').filter((r) => keyOf(r)).length;
      // Killed as soon as the first outputs are on the server: writes of this and other patients in flight.
      await until(() => adapterWritten() > 0, 'the first outputs', 60_000, adapter.output);
      await adapter.kill();
      const partial = cases.filter((tc) => Object.keys(written(fhir.repo, tc.patientId)).length === 0).length;
      expect(partial, 'some patients were not yet written when it was killed').toBeGreaterThan(0);

      await adapter.start();
      const expected = new Map<string, Record<string, string[]>>();
      for (const tc of cases) expected.set(tc.patientId, await expectedOutputs(fhir.baseUrl, fhir.repo, tc.patientId));
      const done = () =>
        cases.every(
          (tc) => JSON.stringify(written(fhir.repo, tc.patientId)) === JSON.stringify(expected.get(tc.patientId)),
        );
      await until(done, 'every patient written', 120_000, adapter.output);
      for (const tc of cases) {
        const outputs = expected.get(tc.patientId) as Record<string, string[]>;
        expect(written(fhir.repo, tc.patientId), tc.name).toEqual(outputs);
        expect(outputs.Flag, tc.name).toBeUndefined();
        expect(outputs.DiagnosticReport, tc.name).toBeUndefined();
      }
      expect(cases.some((tc) => expected.get(tc.patientId)?.DocumentReference?.length)).toBe(true);
    } finally {
      for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    }
  });
});
