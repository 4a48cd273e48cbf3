/**
 * Deterministic identifiers for everything the adapter writes, so that writing the same result twice is a
 * no-op (conditional create/update by identifier), and stable urn:uuid fullUrls (UUID v5-style from SHA-1).
 */
import { hash } from 'node:crypto';
import type { Identifier } from '@medplum/fhirtypes';
import { IDENTIFIER_SYSTEM } from '../codes.ts';

/** Version nibble 5; variant bits 10 on the first nibble of byte 8 (RFC 9562 section 5.5). */
const VARIANT = ['8', '9', 'a', 'b'];

/**
 * A name-based UUID (v5 layout, RFC 9562) for `text`. One-shot hash() and string edits: this runs for every entry
 * written, and createHash + Buffer edits cost several times more.
 */
export function uuidFrom(text: string): string {
  const hex = hash('sha1', `irecist-adapter:${text}`, 'hex');
  const variant = VARIANT[Number.parseInt(hex[16]!, 16) & 0x3]!;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export const identifier = (value: string): Identifier => ({ system: IDENTIFIER_SYSTEM, value });

export const fullUrlFor = (id: Identifier): string => `urn:uuid:${uuidFrom(`${id.system}|${id.value}`)}`;

/** The search a conditional entry uses to find the resource with this identifier. */
export const identifierQuery = (id: Identifier): string =>
  `identifier=${encodeURIComponent(`${id.system}|${id.value}`)}`;

export const ids = {
  report: (patientId: string, date: string) => identifier(`${patientId}/report/${date}`),
  timepoint: (patientId: string, date: string) => identifier(`${patientId}/timepoint-response/${date}`),
  flag: (patientId: string, status: string, since: string) => identifier(`${patientId}/flag/${status}/${since}`),
  diseaseStatus: (patientId: string, date: string) => identifier(`${patientId}/disease-status/${date}`),
  reportDocument: (patientId: string, date: string) => identifier(`${patientId}/report-document/${date}`),
};

/** Short content digest (hex) for identifiers that must change when content does. */
export const digest = (value: unknown): string => hash('sha256', JSON.stringify(value), 'hex').slice(0, 32);
