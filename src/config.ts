/**
 * Configuration from the environment (contract section 5), validated once with zod at start-up.
 * Every problem is collected and reported together, one line each, naming the variable and what is
 * wrong; a secret's value never appears in a message (after medplum server/src/config).
 */
import { type KeyObject, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { type CdsClient, readCdsClients } from './config/cds-clients.ts';
import {
  type ChangeDetectionSettings,
  DEFAULT_SAFETY_NET_SECONDS,
  readChangeDetection,
} from './config/change-detection.ts';
import { type ExposureSettings, readExposureSettings } from './config/exposure-settings.ts';
import { type ConcurrencyRange, readConcurrencyRange } from './config/queue-concurrency.ts';
import { readSmartAppSettings, type SmartAppSettings } from './config/smart-app-settings.ts';
import { jwtAlgOf, parsePrivateKey } from './util/private-key.ts';

export const FHIR_AUTH_MODES = ['none', 'bearer', 'client-credentials', 'smart-backend'] as const;
export type FhirAuthMode = (typeof FHIR_AUTH_MODES)[number];

export const JWT_ALGS = ['RS384', 'ES384'] as const;
export type JwtAlg = (typeof JWT_ALGS)[number];

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * SMART App Launch v2 system scopes: read and search every input, create/update what the adapter writes
 * (conditional create/update also need search, granted by `*.rs`), create Provenance, manage Subscriptions.
 */
export const DEFAULT_FHIR_SCOPE =
  'system/*.rs system/DiagnosticReport.cu system/Observation.cu system/Flag.cu system/Provenance.c system/Subscription.cu';

export type FhirAuthConfig =
  | { mode: 'none' }
  | { mode: 'bearer'; token: string }
  | {
      mode: 'client-credentials';
      clientId: string;
      clientSecret: string;
      /** Undefined: discovered from `${baseUrl}/.well-known/smart-configuration`. */
      tokenUrl?: string;
      scope: string;
      /** client_secret_basic (HTTP Basic header, the default) or client_secret_post (form fields). */
      clientAuthMethod: 'basic' | 'post';
    }
  | {
      mode: 'smart-backend';
      clientId: string;
      /** Undefined: discovered from `${baseUrl}/.well-known/smart-configuration`. */
      tokenUrl?: string;
      scope: string;
      privateKey: KeyObject;
      keyId: string;
      alg: JwtAlg;
    };

export interface Config {
  port: number;
  /** The adapter's public base URL (what Subscriptions point at). */
  publicUrl: string;
  logLevel: LogLevel;
  /** True when no FHIR_BASE_URL is set: the embedded sandbox FHIR server is used. */
  sandbox: boolean;
  fhir: {
    /** Without trailing slash. Undefined in sandbox mode. */
    baseUrl?: string;
    timeoutMs: number;
    auth: FhirAuthConfig;
  };
  database: {
    /** Undefined: embedded PGlite in dataDir. */
    url?: string;
    dataDir: string;
  };
  webhook: {
    secret: string;
    /** True when the secret was generated for this process (sandbox mode only). */
    generated: boolean;
  };
  /** SUBSCRIBE: register Subscriptions on FHIR_BASE_URL at start-up (default off: never without being asked). */
  subscribe: boolean;
  /** Patients (or resources) one notification may name; beyond it, one catch-up instead. */
  notificationMaxPatients: number;
  /** The safety-net poll under Subscriptions (0 = off); also the interval of the other detection modes when set. */
  pollIntervalSeconds: number;
  /** SANDBOX_PROFILE, CHANGE_DETECTION, BULK_GROUP_ID and the interval of a detection mode other than Subscriptions. */
  detection: ChangeDetectionSettings;
  /** Assessments at once in this process, to start with; they adapt within `queueConcurrencyRange`. */
  queueConcurrency: number;
  queueConcurrencyRange: ConcurrencyRange;
  /** A patient assessed less than this long ago is assessed again only when the window has passed (0 = off). */
  assessThrottleMs: number;
  /** CHART_THREAD: the workers draw report charts on a worker thread, off the event loop (default on). */
  chartThread: boolean;
  /** CDS Hooks clients whose signed JWTs are accepted (CDS_CLIENTS); none = every hook call refused. */
  cdsClients: CdsClient[];
  /** The SMART app at /app: its client id at the EHR's authorization server and the scopes it asks for. */
  smartApp: SmartAppSettings;
  /** HOST, the admin API, the sandbox's Subscription endpoints. */
  exposure: ExposureSettings;
}

/** Thrown by loadConfig; `problems` has one line per problem, the message lists them all. */
export class ConfigError extends Error {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

const intVar = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, { error: `must be a whole number between ${min} and ${max}` })
    .transform(Number)
    .pipe(
      z
        .number()
        .min(min, { error: `must be a whole number between ${min} and ${max}` })
        .max(max, { error: `must be a whole number between ${min} and ${max}` }),
    );

const httpUrl = z
  .string()
  .refine((v) => URL.canParse(v) && /^https?:$/.test(new URL(v).protocol), { error: 'must be an http(s) URL' })
  .transform((v) => v.replace(/\/+$/, ''));

const boolVar = z
  .string()
  .transform((v) => v.toLowerCase())
  .pipe(z.enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'must be true or false' }))
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const postgresUrl = z.string().refine((v) => URL.canParse(v) && /^postgres(ql)?:$/.test(new URL(v).protocol), {
  error: 'must be a postgres:// or postgresql:// URL',
});

/** The variable readers every part uses; each records `NAME: message` in `problems` for what it cannot accept. */
interface Readers {
  raw: (name: string) => string | undefined;
  read: <T>(name: string, schema: z.ZodType<T>) => T | undefined;
  need: (name: string, why: string) => string | undefined;
  problems: string[];
}

function createReaders(env: NodeJS.ProcessEnv): Readers {
  const problems: string[] = [];
  const raw = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value ? value : undefined;
  };
  /** Validates one variable; on failure records `NAME: message` for each issue and returns undefined. */
  function read<T>(name: string, schema: z.ZodType<T>): T | undefined {
    const value = raw(name);
    if (value === undefined) return undefined;
    const result = schema.safeParse(value);
    if (result.success) return result.data;
    for (const issue of result.error.issues) problems.push(`${name}: ${issue.message}`);
    return undefined;
  }
  const need = (name: string, why: string): string | undefined => {
    const value = raw(name);
    if (value === undefined) problems.push(`${name}: is required ${why}`);
    return value;
  };
  return { raw, read, need, problems };
}

/** Where the service and its FHIR server are: port, FHIR_BASE_URL (none: the sandbox), PUBLIC_URL, log level, timeout. */
function readService({ raw, read }: Readers) {
  const port = read('PORT', intVar(1, 65535)) ?? 8080;
  const baseUrl = read('FHIR_BASE_URL', httpUrl);
  const sandbox = raw('FHIR_BASE_URL') === undefined;
  const publicUrl = read('PUBLIC_URL', httpUrl) ?? `http://localhost:${port}`;
  const logLevel =
    read('LOG_LEVEL', z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` })) ?? 'info';
  const timeoutMs = read('FHIR_TIMEOUT_MS', intVar(100, 600_000)) ?? 30_000;
  return { port, baseUrl, sandbox, publicUrl, logLevel, timeoutMs };
}

/** How work comes in and runs: subscriptions, polling, queue concurrency (and its range), the per-patient throttle. */
function readWork({ raw, read, problems }: Readers) {
  const subscribe = read('SUBSCRIBE', boolVar) ?? false;
  const pollIntervalSeconds = read('POLL_INTERVAL_SECONDS', intVar(0, 86_400)) ?? DEFAULT_SAFETY_NET_SECONDS;
  const queueConcurrency = read('QUEUE_CONCURRENCY', intVar(1, 64)) ?? 4;
  return {
    subscribe,
    notificationMaxPatients: read('NOTIFICATION_MAX_PATIENTS', intVar(1, 10_000)) ?? 100,
    pollIntervalSeconds,
    queueConcurrency,
    queueConcurrencyRange: readConcurrencyRange(raw, problems, queueConcurrency),
    assessThrottleMs: read('ASSESS_THROTTLE_MS', intVar(0, 600_000)) ?? 1000,
    chartThread: read('CHART_THREAD', boolVar) ?? true,
  };
}

/** DATABASE_URL (PostgreSQL), else embedded PGlite under DATA_DIR. */
function readDatabase({ raw, read }: Readers): Config['database'] {
  return { url: read('DATABASE_URL', postgresUrl), dataDir: raw('DATA_DIR') ?? './.data' };
}

/** WEBHOOK_SECRET: required against a real server, generated for the sandbox. */
function readWebhook({ raw, read, problems }: Readers, sandbox: boolean): Config['webhook'] | undefined {
  const secret = read('WEBHOOK_SECRET', z.string().min(16, { error: 'must be at least 16 characters' }));
  if (raw('WEBHOOK_SECRET') !== undefined) return secret === undefined ? undefined : { secret, generated: false };
  if (sandbox) return { secret: randomBytes(32).toString('hex'), generated: true };
  problems.push('WEBHOOK_SECRET: is required when FHIR_BASE_URL is set (at least 16 characters)');
  return undefined;
}

/** FHIR_AUTH and the variables of its mode (none against the sandbox). */
function readFhirAuth(readers: Readers, sandbox: boolean): FhirAuthConfig | undefined {
  const { read, problems } = readers;
  const mode =
    read('FHIR_AUTH', z.enum(FHIR_AUTH_MODES, { error: `must be one of ${FHIR_AUTH_MODES.join(', ')}` })) ?? 'none';
  if (mode !== 'none' && sandbox) problems.push(`FHIR_AUTH: ${mode} requires FHIR_BASE_URL`);
  return readAuth(mode, readers);
}

/** CDS_CLIENTS (trusted CDS Hooks clients) and the SMART app's client id and scope. */
function readClinicianViews({ raw, problems }: Readers) {
  return { cdsClients: readCdsClients(raw('CDS_CLIENTS'), problems), smartApp: readSmartAppSettings(raw) };
}

/**
 * Reads and validates the configuration: one small reader per part, in the order their problems are listed.
 * @param env - The environment (default `process.env`).
 * @returns The configuration.
 * @throws ConfigError listing every problem, one line each, never a secret's value.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const readers = createReaders(env);
  const { port, baseUrl, sandbox, publicUrl, logLevel, timeoutMs } = readService(readers);
  const work = readWork(readers);
  const detection = readChangeDetection(readers.raw, sandbox, readers.problems);
  const database = readDatabase(readers);
  const webhook = readWebhook(readers, sandbox);
  const auth = readFhirAuth(readers, sandbox);
  const views = readClinicianViews(readers);
  const exposure = readExposureSettings(readers.raw, readers.problems);
  if (readers.problems.length > 0 || !auth || !webhook) throw new ConfigError(readers.problems);
  return {
    port,
    publicUrl,
    logLevel,
    sandbox,
    fhir: { baseUrl, timeoutMs, auth },
    database,
    webhook,
    ...work,
    detection,
    ...views,
    exposure,
  };
}

function readAuth(mode: FhirAuthMode, { raw, read, need, problems }: Readers): FhirAuthConfig | undefined {
  const why = `when FHIR_AUTH=${mode}`;
  switch (mode) {
    case 'none':
      return { mode };
    case 'bearer': {
      const token = need('FHIR_TOKEN', why);
      return token === undefined ? undefined : { mode, token };
    }
    case 'client-credentials': {
      const clientId = need('FHIR_CLIENT_ID', why);
      const clientSecret = need('FHIR_CLIENT_SECRET', why);
      const tokenUrl = read('FHIR_TOKEN_URL', httpUrl);
      const clientAuthMethod =
        read('FHIR_CLIENT_AUTH_METHOD', z.enum(['basic', 'post'], { error: 'must be basic or post' })) ?? 'basic';
      if (clientId === undefined || clientSecret === undefined) return undefined;
      return {
        mode,
        clientId,
        clientSecret,
        tokenUrl,
        scope: raw('FHIR_SCOPE') ?? DEFAULT_FHIR_SCOPE,
        clientAuthMethod,
      };
    }
    case 'smart-backend': {
      const clientId = need('FHIR_CLIENT_ID', why);
      const keyId = need('FHIR_KEY_ID', why);
      const tokenUrl = read('FHIR_TOKEN_URL', httpUrl);
      const wantedAlg = read('FHIR_JWT_ALG', z.enum(JWT_ALGS, { error: `must be one of ${JWT_ALGS.join(', ')}` }));
      const key = readPrivateKey(raw, problems, why);
      const alg = key ? checkKeyAlg(key, wantedAlg, raw('FHIR_JWT_ALG') !== undefined, problems) : undefined;
      if (clientId === undefined || keyId === undefined || !key || !alg) return undefined;
      return { mode, clientId, tokenUrl, scope: raw('FHIR_SCOPE') ?? DEFAULT_FHIR_SCOPE, privateKey: key, keyId, alg };
    }
  }
}

/** FHIR_PRIVATE_KEY (PEM, `\n` escapes allowed, or a private JWK as JSON) or FHIR_PRIVATE_KEY_FILE (a path). */
function readPrivateKey(
  raw: (name: string) => string | undefined,
  problems: string[],
  why: string,
): KeyObject | undefined {
  const inline = raw('FHIR_PRIVATE_KEY');
  const file = raw('FHIR_PRIVATE_KEY_FILE');
  if (inline !== undefined && file !== undefined) {
    problems.push('FHIR_PRIVATE_KEY: set only one of FHIR_PRIVATE_KEY and FHIR_PRIVATE_KEY_FILE');
    return undefined;
  }
  if (inline === undefined && file === undefined) {
    problems.push(`FHIR_PRIVATE_KEY: is required ${why} (or FHIR_PRIVATE_KEY_FILE)`);
    return undefined;
  }
  let text: string;
  const name = inline !== undefined ? 'FHIR_PRIVATE_KEY' : 'FHIR_PRIVATE_KEY_FILE';
  if (inline !== undefined) {
    text = inline.replace(/\\n/g, '\n');
  } else {
    try {
      text = readFileSync(file as string, 'utf8').trim();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      problems.push(`FHIR_PRIVATE_KEY_FILE: cannot be read (${code})`);
      return undefined;
    }
  }
  const key = parsePrivateKey(text);
  if (!key) problems.push(`${name}: is not a PEM (PKCS#8, PKCS#1 or SEC1) or JWK private key`);
  return key;
}

/** RS384 needs an RSA key of at least 2048 bits, ES384 an EC key on P-384; without FHIR_JWT_ALG the key decides. */
function checkKeyAlg(
  key: KeyObject,
  wanted: JwtAlg | undefined,
  algGiven: boolean,
  problems: string[],
): JwtAlg | undefined {
  if (algGiven && wanted === undefined) return undefined; // already reported
  const fit = jwtAlgOf(key);
  if (!fit) problems.push('FHIR_PRIVATE_KEY: must be an RSA key (RS384) or an EC P-384 key (ES384)');
  else if (wanted && wanted !== fit.alg) {
    problems.push(`FHIR_JWT_ALG: ${wanted} does not match the private key (which needs ${fit.alg})`);
  } else if (fit.tooSmall) problems.push('FHIR_PRIVATE_KEY: an RSA key must be at least 2048 bits');
  else return fit.alg;
  return undefined;
}
