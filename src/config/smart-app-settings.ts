/**
 * The SMART app's settings (SMART_APP_CLIENT_ID, SMART_APP_SCOPE): the client id the app is registered under at the
 * EHR's authorization server, and the SMART App Launch 2 scopes it asks for (read-only, the patient's data only).
 */

export interface SmartAppSettings {
  clientId: string;
  scope: string;
}

/** Read the patient's inputs and the adapter's results, nothing else; `launch` / `launch/patient` for either launch. */
export const DEFAULT_SMART_APP_SCOPE =
  'launch launch/patient openid fhirUser patient/Patient.rs patient/Observation.rs patient/DiagnosticReport.rs ' +
  'patient/Flag.rs patient/ImagingStudy.rs patient/MedicationAdministration.rs patient/Medication.rs ' +
  'patient/BodyStructure.rs';

/**
 * Reads the app's settings.
 * @param raw - Reads one environment variable (trimmed, undefined when empty).
 * @returns The settings, with defaults.
 */
export function readSmartAppSettings(raw: (name: string) => string | undefined): SmartAppSettings {
  return {
    clientId: raw('SMART_APP_CLIENT_ID') ?? 'irecist-adapter-app',
    scope: raw('SMART_APP_SCOPE') ?? DEFAULT_SMART_APP_SCOPE,
  };
}
