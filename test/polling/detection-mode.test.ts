/**
 * The change-detection mode chosen from each sandbox profile's CapabilityStatement (served over HTTP) and the settings:
 * Subscriptions where offered and registered, `_lastUpdated` where Observation lists it, Group `$export` where Group
 * lists it and a Group is configured, else the watch list; CHANGE_DETECTION overrides.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxProfileName } from '../../src/config/change-detection.ts';
import { chooseDetectionMode, detectionCapabilities } from '../../src/polling/detection-mode.ts';
import { type Json, type SandboxHarness, startSandbox } from '../sandbox/harness.ts';

const PROFILES: SandboxProfileName[] = ['medplum', 'hapi', 'epic', 'oracle'];
const statements = new Map<SandboxProfileName, Json>();
const harnesses: SandboxHarness[] = [];

beforeAll(async () => {
  for (const profile of PROFILES) {
    const h = await startSandbox({ profile });
    harnesses.push(h);
    statements.set(profile, (await h.fhir('GET', 'metadata')).body);
  }
});
afterAll(async () => {
  for (const h of harnesses) await h.close();
});

const caps = (profile: SandboxProfileName) => detectionCapabilities(statements.get(profile));

describe('detection mode per profile', () => {
  it.each([
    ['medplum', true, 'subscriptions'],
    ['hapi', true, 'subscriptions'],
    ['medplum', false, 'last-updated'],
    ['epic', true, 'bulk-export'],
    ['oracle', true, 'last-updated'],
  ] as const)('%s (subscribes: %s) -> %s', (profile, subscribes, mode) => {
    const choice = chooseDetectionMode(caps(profile), { subscribes, groupId: 'oncology' });
    expect(choice.mode).toBe(mode);
    expect(choice.reason.length).toBeGreaterThan(10);
  });

  it('epic: no Subscription, no _lastUpdated on inputs, Group $export; the Group is exported with the input types', () => {
    const c = caps('epic');
    expect(c).toMatchObject({ restHook: false, lastUpdatedTypes: [], groupExport: true });
    const choice = chooseDetectionMode(c, { subscribes: true, groupId: 'oncology' });
    expect(choice).toMatchObject({ mode: 'bulk-export', groupId: 'oncology' });
    expect(choice.types).toEqual(
      expect.arrayContaining(['Patient', 'Observation', 'ImagingStudy', 'MedicationAdministration', 'BodyStructure']),
    );
  });

  it('epic without a Group: the watch list, by the date parameters epic lists', () => {
    const choice = chooseDetectionMode(caps('epic'), { subscribes: false });
    expect(choice.mode).toBe('watch-list');
    expect(choice.reason).toContain('BULK_GROUP_ID');
    expect(caps('epic').dateParams).toEqual({
      Observation: 'date',
      ImagingStudy: 'started',
      MedicationAdministration: 'effective-time',
    });
    expect(choice.types.sort()).toEqual(['ImagingStudy', 'MedicationAdministration', 'Observation']);
  });

  it('oracle: _lastUpdated only where listed (Observation), so only there is it searched', () => {
    const choice = chooseDetectionMode(caps('oracle'), { subscribes: false });
    expect(choice).toMatchObject({ mode: 'last-updated', types: ['Observation'] });
  });

  it('CHANGE_DETECTION wins over the CapabilityStatement', () => {
    expect(chooseDetectionMode(caps('medplum'), { subscribes: true, configured: 'watch-list' }).mode).toBe(
      'watch-list',
    );
    expect(
      chooseDetectionMode(caps('medplum'), { subscribes: true, configured: 'bulk-export', groupId: 'g' }),
    ).toMatchObject({ mode: 'bulk-export', groupId: 'g', reason: 'CHANGE_DETECTION=bulk-export' });
  });
});
