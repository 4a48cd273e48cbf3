/**
 * What the service benchmark measures without touching src/: per-patient stage timestamps, the adapter's FHIR
 * requests (through options.fetch), the sandbox's notification deliveries (through the global fetch it uses), and
 * database statements counted at the driver (PGlite query/exec, node-postgres Client.query).
 */
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { patientOf } from '../sample-cases.ts';
import { DEBUG, FHIR_DELAY_MS } from './settings.ts';

export interface Stages {
  posted?: number;
  notifySent?: number;
  lastNotifyAcked?: number;
  enqueueStart?: number;
  enqueued?: number;
  notifyAcked?: number;
  readStart?: number;
  readEnd?: number;
  writeStart?: number;
  writeEnd?: number;
  flagCommitted?: number;
  flagReceived?: number;
}

export const stages = new Map<string, Stages>();

/** Records the first time `name` happens for the patient (or the latest, for `last*` stages). */
export function stage(patientId: string | undefined, name: keyof Stages, at = performance.now()): void {
  if (!patientId) return;
  const s = stages.get(patientId) ?? {};
  stages.set(patientId, s);
  if (name.startsWith('last')) s[name] = at;
  else s[name] ??= at;
}

/** Counters the phases read: requests by kind, batch reads (= assessments) and writes per patient, and more. */
export const counters = {
  requestKinds: new Map<string, number>(),
  readsPerPatient: new Map<string, number>(),
  writesPerPatient: new Map<string, number>(),
  sqlKinds: new Map<string, number>(),
  notificationsDelivered: 0,
  sqlStatements: 0,
};

export const realFetch = globalThis.fetch;
const bump = (map: Map<string, number>, key: string): void => void map.set(key, (map.get(key) ?? 0) + 1);

/** The FHIR server's answer, FHIR_DELAY_MS later. */
export const delayedFetch = async (input: string, init: RequestInit = {}): Promise<Response> => {
  if (FHIR_DELAY_MS > 0) await new Promise((r) => setTimeout(r, FHIR_DELAY_MS));
  return realFetch(input, init);
};

/** The adapter's fetch: each request counted by kind, batch reads and transaction writes timed per patient. */
export function countingFetch(fhirBasePath: () => string) {
  return async (input: string, init: RequestInit = {}): Promise<Response> => {
    const method = (init.method ?? 'GET').toUpperCase();
    const path = new URL(input).pathname.slice(fhirBasePath().length).replace(/\/+$/, '');
    const body = typeof init.body === 'string' ? init.body : '';
    let kind = path === '/metadata' ? 'GET metadata' : `${method} ${path.split('/')[1] ?? ''}`.trim();
    let which: 'read' | 'write' | undefined;
    let patientId: string | undefined;
    if (method === 'POST' && path === '') {
      const type = /"type":"(batch|transaction)"/.exec(body.slice(0, 400))?.[1] ?? 'bundle';
      kind = `POST ${type}`;
      which = type === 'batch' ? 'read' : type === 'transaction' ? 'write' : undefined;
      patientId = patientOf(body);
    }
    bump(counters.requestKinds, kind);
    if (which && patientId) bump(which === 'read' ? counters.readsPerPatient : counters.writesPerPatient, patientId);
    if (which) stage(patientId, which === 'read' ? 'readStart' : 'writeStart');
    const response = await delayedFetch(input, init);
    if (which) stage(patientId, which === 'read' ? 'readEnd' : 'writeEnd');
    return response;
  };
}

/** The sandbox notifier posts with the global fetch: time the deliveries to the adapter per patient. */
export function timeNotificationDeliveries(notificationsUrl: () => string): void {
  globalThis.fetch = (async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (!notificationsUrl() || url !== notificationsUrl()) return realFetch(input, init);
    const patientId = typeof init?.body === 'string' ? patientOf(init.body) : undefined;
    stage(patientId, 'notifySent');
    const response = await realFetch(input, init);
    stage(patientId, 'notifyAcked');
    stage(patientId, 'lastNotifyAcked');
    counters.notificationsDelivered++;
    return response;
  }) as typeof fetch;
}

function wrapQueryMethod(proto: object, name: string): void {
  const target = proto as Record<string, (...args: unknown[]) => unknown>;
  const original = target[name];
  if (typeof original !== 'function') return;
  target[name] = function (this: unknown, ...args: unknown[]) {
    counters.sqlStatements++;
    if (DEBUG) {
      const text = typeof args[0] === 'string' ? args[0] : ((args[0] as { text?: string } | null)?.text ?? '');
      bump(counters.sqlKinds, text.replace(/\s+/g, ' ').trim().slice(0, 60));
    }
    return original.apply(this, args);
  };
}

/** Counts every database statement at the drivers. */
export function countSqlStatements(): void {
  for (const name of ['query', 'exec']) wrapQueryMethod(PGlite.prototype, name);
  wrapQueryMethod(pg.Client.prototype, 'query');
}
