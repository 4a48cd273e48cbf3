/**
 * Deterministic identifiers for everything the adapter writes, so that writing the same result twice is a
 * no-op (conditional create/update by identifier), and stable urn:uuid fullUrls (UUID v5-style from SHA-1).
 */
import { createHash } from 'node:crypto';
import type { Identifier } from '@medplum/fhirtypes';
import { IDENTIFIER_SYSTEM } from '../codes.ts';

export function uuidFrom(text: string): string {
  const h = createHash('sha1').update(`irecist-adapter:${text}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
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
export const digest = (value: unknown): string =>
  createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 32);
