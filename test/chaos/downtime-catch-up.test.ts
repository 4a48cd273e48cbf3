/**
 * No lost changes after downtime (issue #11 item 5): the real adapter (a child process, SUBSCRIBE on against the
 * sandbox FHIR server, every detection setting at its default) is SIGKILLed; while it is down patients are added and
 * others changed, and the server's deliveries to it fail until the server gives them up (its retries end: the
 * sandbox is idle with failed deliveries). Started again with the same settings on the same database, the adapter
 * catches up from the checkpoint it stored at its first start: every patient ends as `assess` gives, nothing written
 * twice. The test never re-sends a notification.
 */
import { describe, expect, it } from 'vitest';
import {
  caseNames,
  changeCase,
  expectAssessed,
  expectedOutcome,
  loadCase,
  loadCases,
  reportVersionCounts,
  serverOutcome,
  type TestCase,
} from '../e2e/cases.ts';
import { startSandboxServer } from '../e2e/harness.ts';
import { adapterProcess, scratchDatabase, withClient } from './adapter-process.ts';

/** Whether the server holds exactly what `assess` gives for every case (no assertion thrown). */
function allAssessed(repo: Parameters<typeof serverOutcome>[0], cases: readonly TestCase[]): boolean {
  return cases.every((tc) => {
    const { outcome, duplicates } = serverOutcome(repo, tc.patientId);
    return duplicates.length === 0 && JSON.stringify(outcome) === JSON.stringify(expectedOutcome(tc));
  });
}

async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs: number,
  output: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${output()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The case with its last measured lesion three times the size. */
function grown(tc: TestCase): TestCase {
  const measured = tc.resources.filter(
    (r) => r.resourceType === 'Observation' && (r as { component?: unknown[] }).component?.length,
  );
  const lastId = measured.at(-1)?.id;
  return changeCase(tc, (r) => {
    const q = r.id === lastId ? (r as { component?: { valueQuantity?: { value?: number } }[] }).component : undefined;
    const quantity = q?.[0]?.valueQuantity;
    if (quantity?.value !== undefined) quantity.value *= 3;
    return r;
  });
}

describe('downtime drill: SIGKILLed, data written while down, started again with default settings', () => {
  it('every patient assessed after the restart, nothing doubled, nothing re-sent', { timeout: 180_000 }, async () => {
    const cleanups: (() => Promise<void>)[] = [];
    try {
      const fhir = await startSandboxServer();
      cleanups.push(() => fhir.close());
      const scratch = await scratchDatabase('downtime');
      cleanups.push(() => scratch.drop());
      const adapter = await adapterProcess({
        fhirBaseUrl: fhir.baseUrl,
        database: { kind: 'postgres', url: scratch.url },
        label: 'downtime-adapter',
        // The deployment's settings (Subscriptions to this adapter); detection and polling at their defaults.
        env: (url) => ({ SUBSCRIBE: 'true', PUBLIC_URL: url, POLL_INTERVAL_SECONDS: undefined }),
      });
      cleanups.push(() => adapter.stop());
      await adapter.start();
      // The first start stored a checkpoint (nothing was there to find yet).
      const checkpoint = () =>
        withClient(scratch.url, async (c) => {
          const sql = `SELECT value FROM irecist.irecist_state WHERE key = 'poll-checkpoint'`;
          return (await c.query<{ value: unknown }>(sql)).rows[0]?.value;
        });
      await until(async () => (await checkpoint()) !== undefined, 'the first checkpoint', 20_000, adapter.output);

      const names = caseNames();
      const before = names.slice(0, 3).map((name) => loadCase(name, 'up'));
      await loadCases(fhir.baseUrl, before);
      await until(() => allAssessed(fhir.repo, before), 'the first patients assessed', 60_000, adapter.output);

      await adapter.kill();
      const failedBefore = fhir.sandbox.notificationStats.failed;
      const changedWhileDown = before.slice(0, 2).map(grown);
      const newWhileDown = names.map((name) => loadCase(name, 'down'));
      await loadCases(fhir.baseUrl, [...changedWhileDown, ...newWhileDown]);
      // Every delivery of those failed and was given up: the server's retries are over.
      await fhir.sandbox.waitForIdle();
      expect(fhir.sandbox.notificationStats.failed).toBeGreaterThanOrEqual(
        changedWhileDown.length + newWhileDown.length,
      );
      expect(failedBefore).toBe(0);
      for (const tc of newWhileDown) expect(serverOutcome(fhir.repo, tc.patientId).outcome.reportIds).toEqual([]);

      await adapter.start();
      const all = [...changedWhileDown, before[2] as TestCase, ...newWhileDown];
      await until(
        () => allAssessed(fhir.repo, all),
        'every patient assessed after the restart',
        90_000,
        adapter.output,
      );
      for (const tc of all) expectAssessed(fhir.repo, tc);
      // Each report of a patient added while down written once (not once per start, not once per run).
      for (const tc of newWhileDown) {
        expect(await reportVersionCounts(fhir.repo, tc.patientId), tc.name).toEqual(
          Array(expectedOutcome(tc).reportIds.length).fill(1),
        );
      }
    } finally {
      for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    }
  });
});
