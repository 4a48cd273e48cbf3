/** The sandbox server profiles by name (SANDBOX_PROFILE). */
import type { SandboxProfileName } from '../../config/change-detection.ts';
import { EPIC_PROFILE } from './epic-profile.ts';
import { HAPI_PROFILE } from './hapi-profile.ts';
import { MEDPLUM_PROFILE } from './medplum-profile.ts';
import { ORACLE_PROFILE } from './oracle-profile.ts';
import type { ServerProfile } from './profile-model.ts';

const PROFILES: Readonly<Record<SandboxProfileName, ServerProfile>> = {
  medplum: MEDPLUM_PROFILE,
  hapi: HAPI_PROFILE,
  epic: EPIC_PROFILE,
  oracle: ORACLE_PROFILE,
};

/**
 * The profile of a name.
 * @param name - A SANDBOX_PROFILE value (default `medplum`).
 * @returns Its table.
 */
export function serverProfile(name: SandboxProfileName = 'medplum'): ServerProfile {
  return PROFILES[name];
}
