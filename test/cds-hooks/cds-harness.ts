/**
 * The CDS Hooks tests' parts: a CDS client's key pair and signed JWTs (jose), the adapter started with CDS_CLIENTS
 * on PostgreSQL, a stand-in EHR FHIR server that records the Authorization header of every request, and prefetch
 * built from a public case the way a CDS client fills the templates.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import express from 'express';
import { exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose';
import { PREFETCH } from '../../src/cds-hooks/patient-view-service.ts';
import { loadConfig } from '../../src/config.ts';
import { readBundle } from '../../src/mapping/read-bundle.ts';
import { createSandbox, type Sandbox } from '../../src/sandbox/index.ts';
import { type RunningService, startService } from '../../src/service/start-service.ts';
import { readCase } from '../cli/case-check.ts';
import { dropSchema, POSTGRES_URL, uniqueSchema } from '../e2e/harness.ts';
import { withSentinelData } from '../setup/patient-data-sentinels.ts';

export const CLIENT_ISS = 'https://ehr.example.org/';

export interface ClientKey {
  kid: string;
  alg: string;
  publicJwk: JWK;
  privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
}

/** A CDS client's signing key (ES384 by default, as the specification recommends). */
export async function clientKey(alg = 'ES384', kid = `kid-${randomUUID()}`): Promise<ClientKey> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, alg, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' }, privateKey };
}

/** A CDS client's JWT for one call: `iss`, `aud`, `exp` (+5 min), `iat` (now) and a fresh `jti` unless overridden. */
export async function clientJwt(key: ClientKey, aud: string, claims: JWTPayload = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iss: CLIENT_ISS, aud, exp: now + 300, iat: now, jti: randomUUID(), ...claims })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' })
    .sign(key.privateKey);
}

export interface StartedAdapter {
  service: RunningService;
  stop(): Promise<void>;
}

/** The whole service with CDS_CLIENTS, on PostgreSQL in its own schema; sandbox mode unless env says otherwise. */
export async function startAdapter(env: Record<string, string>): Promise<StartedAdapter> {
  const schema = uniqueSchema('cds');
  const config = loadConfig({
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
    DATA_DIR: mkdtempSync(join(tmpdir(), 'irecist-cds-')),
    DATABASE_URL: POSTGRES_URL,
    SUBSCRIBE: 'false',
    ...env,
  });
  config.port = 0;
  const service = await startService(config, { host: '127.0.0.1', schema });
  return {
    service,
    stop: async () => {
      await service.close();
      await dropSchema(schema);
    },
  };
}

export interface RecordingFhirServer {
  baseUrl: string;
  sandbox: Sandbox;
  /** The Authorization header of every request received (undefined when none was sent). */
  authorizations: (string | undefined)[];
  close(): Promise<void>;
}

/** The token the recording server answers 401 to. */
export const REFUSED_TOKEN = 'refused-token';

/** A FHIR server standing in for an EHR's: the sandbox router behind a middleware that records Authorization. */
export async function recordingFhirServer(): Promise<RecordingFhirServer> {
  const app = express();
  const authorizations: (string | undefined)[] = [];
  app.use((req, res, next) => {
    authorizations.push(req.headers.authorization);
    if (req.headers.authorization === `Bearer ${REFUSED_TOKEN}`) {
      res.status(401).json({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'login' }] });
      return;
    }
    next();
  });
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(0, '127.0.0.1', (err?: Error) => (err ? reject(err) : resolve(s)));
  });
  const sandbox = createSandbox({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/fhir/R4` });
  app.use('/fhir/R4', sandbox.router);
  return {
    baseUrl: sandbox.baseUrl,
    sandbox,
    authorizations,
    close: async () => {
      await sandbox.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
    },
  };
}

/**
 * A public case's resources, its Patient carrying the sentinel patient data that must never reach a log line
 * (test/log-scan checks everything the suite logged).
 */
export function caseResources(name: string): Resource[] {
  return readBundle(readCase(name).bundle).resources.map((r) =>
    r.resourceType === 'Patient' ? withSentinelData(r) : r,
  );
}

/** Loads a public case into a FHIR server as a transaction (the hospital's own systems writing it). */
export async function loadCase(baseUrl: string, name: string): Promise<void> {
  const resources = caseResources(name);
  const bundle: Bundle = {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: resources.map((resource) => ({
      resource,
      request: { method: 'PUT', url: `${resource.resourceType}/${resource.id}` },
    })),
  };
  const res = await fetch(baseUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/fhir+json' },
    body: JSON.stringify(bundle),
  });
  if (!res.ok) throw new Error(`loading ${name} failed: ${res.status}`);
}

/** The prefetch a CDS client sends for a public case: the Patient and one searchset Bundle per template. */
export function casePrefetch(name: string): { patientId: string; prefetch: Record<string, Resource | null> } {
  const resources = caseResources(name);
  const patient = resources.find((r) => r.resourceType === 'Patient') as Resource;
  const prefetch: Record<string, Resource | null> = {};
  for (const template of PREFETCH) {
    if (template.read) {
      prefetch[template.key] = patient;
      continue;
    }
    const included = template.resourceType === 'MedicationAdministration' ? ['Medication'] : [];
    const matches = resources.filter(
      (r) => r.resourceType === template.resourceType || included.includes(r.resourceType),
    );
    prefetch[template.key] = {
      resourceType: 'Bundle',
      type: 'searchset',
      total: matches.length,
      entry: matches.map((resource) => ({ resource })),
    } as Bundle;
  }
  return { patientId: patient.id as string, prefetch };
}

/** A patient-view request shaped like the specification's example (hookInstance, fhirServer, context, prefetch). */
export function patientViewRequest(patientId: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    hookInstance: randomUUID(),
    hook: 'patient-view',
    context: { userId: 'Practitioner/example', patientId, encounterId: '89284' },
    ...extra,
  };
}

export const SERVICE_PATH = '/cds-services/irecist-patient-view';

export async function post(
  url: string,
  body: unknown,
  token?: string,
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, headers: res.headers };
}
