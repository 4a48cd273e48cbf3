/**
 * How the service learns of changes, and which server the sandbox imitates: SANDBOX_PROFILE, CHANGE_DETECTION,
 * BULK_GROUP_ID and the interval of a detection mode that is not Subscriptions (contract section 5).
 */

/** The servers the sandbox can imitate (src/sandbox/server-profiles/). */
export const SANDBOX_PROFILES = ['medplum', 'hapi', 'epic', 'oracle'] as const;
export type SandboxProfileName = (typeof SANDBOX_PROFILES)[number];

/**
 * How changes reach the adapter: the server's Subscriptions (with the safety-net poll), a `_lastUpdated` search,
 * a Group `$export` with `_since`, or a watch list of known patients searched by their date parameters.
 */
export const DETECTION_MODES = ['subscriptions', 'last-updated', 'bulk-export', 'watch-list'] as const;
export type DetectionMode = (typeof DETECTION_MODES)[number];

/** The safety-net poll's default interval under Subscriptions (README, "How changes are detected"). */
export const DEFAULT_SAFETY_NET_SECONDS = 300;
/** A detection mode other than Subscriptions runs this often against a real server unless POLL_INTERVAL_SECONDS says. */
export const DEFAULT_DETECTION_SECONDS = 60;
/** ... and this often against the sandbox, so a walkthrough sees its results within seconds. */
export const SANDBOX_DETECTION_SECONDS = 5;
/** The Group the sandbox keeps of every patient loaded (POST /sandbox/load), watched by default on the epic profile. */
export const SANDBOX_GROUP_ID = 'oncology';

export interface ChangeDetectionSettings {
  /** SANDBOX_PROFILE: the server the embedded sandbox behaves like (sandbox mode only). */
  sandboxProfile: SandboxProfileName;
  /** CHANGE_DETECTION: the mode to use whatever the CapabilityStatement says; unset = chosen from it. */
  mode?: DetectionMode;
  /** BULK_GROUP_ID: the Group exported with `_since` (sandbox mode: `oncology` when unset). */
  bulkGroupId?: string;
  /** Seconds between runs of a detection mode other than Subscriptions. */
  intervalSeconds: number;
}

const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;

/**
 * Reads the change-detection settings; each problem is recorded as `NAME: message`.
 * @param raw - Reads one environment variable (trimmed, undefined when empty).
 * @param sandbox - True when no FHIR_BASE_URL is set.
 * @param problems - Where problems are recorded (POLL_INTERVAL_SECONDS itself is checked by the work reader).
 * @returns The settings.
 */
export function readChangeDetection(
  raw: (name: string) => string | undefined,
  sandbox: boolean,
  problems: string[],
): ChangeDetectionSettings {
  const profile = raw('SANDBOX_PROFILE')?.toLowerCase();
  let sandboxProfile: SandboxProfileName = 'medplum';
  if (profile !== undefined) {
    if (!sandbox) problems.push('SANDBOX_PROFILE: applies to the sandbox only; unset it when FHIR_BASE_URL is set');
    else if ((SANDBOX_PROFILES as readonly string[]).includes(profile)) sandboxProfile = profile as SandboxProfileName;
    else problems.push(`SANDBOX_PROFILE: must be one of ${SANDBOX_PROFILES.join(', ')}`);
  }
  const modeText = raw('CHANGE_DETECTION')?.toLowerCase();
  let mode: DetectionMode | undefined;
  if (modeText !== undefined && modeText !== 'auto') {
    if ((DETECTION_MODES as readonly string[]).includes(modeText)) mode = modeText as DetectionMode;
    else problems.push(`CHANGE_DETECTION: must be auto or one of ${DETECTION_MODES.join(', ')}`);
  }
  const groupText = raw('BULK_GROUP_ID');
  let bulkGroupId: string | undefined;
  if (groupText !== undefined) {
    const id = groupText.replace(/^Group\//, '');
    if (FHIR_ID.test(id)) bulkGroupId = id;
    else problems.push('BULK_GROUP_ID: must be a Group id (letters, digits, "-" and ".", at most 64)');
  }
  if (mode === 'bulk-export' && !bulkGroupId && !sandbox) {
    problems.push('BULK_GROUP_ID: is required when CHANGE_DETECTION=bulk-export');
  }
  const poll = raw('POLL_INTERVAL_SECONDS');
  const given = poll !== undefined && /^\d+$/.test(poll) ? Number(poll) : 0;
  const intervalSeconds = given > 0 ? given : sandbox ? SANDBOX_DETECTION_SECONDS : DEFAULT_DETECTION_SECONDS;
  return { sandboxProfile, ...(mode ? { mode } : {}), ...(bulkGroupId ? { bulkGroupId } : {}), intervalSeconds };
}
