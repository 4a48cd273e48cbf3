/**
 * Which FHIR server software a name says, decided once for the capability read and subscription registration:
 * Medplum, HAPI FHIR (Smile CDR is built on HAPI and shares its subscription quirks), or another server.
 */
export type ServerSoftware = 'medplum' | 'hapi' | 'other';

/**
 * @param name - A software name or description (CapabilityStatement software.name, implementation.description, ...).
 * @returns The server software it names.
 */
export function serverSoftware(name: string): ServerSoftware {
  if (/medplum/i.test(name)) return 'medplum';
  if (/hapi|smile/i.test(name)) return 'hapi';
  return 'other';
}
