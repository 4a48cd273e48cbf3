/**
 * Sandbox-only SMART App Launch 2 endpoints, so `npm start` alone is enough to try the app (/app):
 * - `GET /sandbox/smart/launch?patient=ID`: what an EHR's launch button does; redirects to the app's launch URL
 *   with `iss` (the sandbox FHIR base) and an opaque `launch`;
 * - `GET /sandbox/smart/authorize`: signs the user in as a test clinician (no password) and redirects back with a
 *   code; the patient comes from the EHR launch, or is picked on a page (standalone launch with launch/patient);
 * - `POST /sandbox/smart/token`: the code (PKCE S256 checked) for `access_token`, `patient`, `scope`, `id_token`;
 * - `GET /fhir/R4/.well-known/smart-configuration`;
 * - in front of /fhir/R4: a bearer token, when one is sent, must be one issued here (the app reads with its own
 *   token); requests without one stay open as before (the sandbox serves loopback only); CORS for loopback origins.
 * Redirects go only to loopback URLs. Nothing here exists when FHIR_BASE_URL is set.
 * https://hl7.org/fhir/smart-app-launch/STU2/app-launch.html
 */
import { createHash, randomBytes } from 'node:crypto';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { badRequest, unauthorized } from '../fhir-model/outcomes.ts';
import type { Logger } from '../logging.ts';
import type { SandboxRepository } from './memory-store.ts';
import { SMART_PATHS, smartConfiguration, smartEndpoints } from './smart-configuration.ts';

export interface SmartSandboxOptions {
  repo: SandboxRepository;
  /** Where the sandbox FHIR router is mounted (`/fhir/R4`). */
  fhirPath: string;
  /** The adapter's own origin (http://127.0.0.1:PORT), used when a request's Host is not a loopback name. */
  origin: string;
  /** The app's launch path (`/app/launch`). */
  appLaunchPath: string;
  logger: Logger;
  /** Clock in ms (tests). */
  now?: () => number;
}

interface Grant {
  clientId: string;
  redirectUri: string;
  challenge: string;
  scope: string;
  aud: string;
  patient?: string;
  expires: number;
}

const CODE_TTL_MS = 60_000;
const TOKEN_TTL_S = 3_600;
const MAX_ENTRIES = 1_000;
const LOOPBACK_HOST = /^(localhost|127\.0\.0\.1|\[::1\])(:\d{1,5})?$/;
const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;
const CLINICIAN = { id: 'sandbox-clinician', name: 'Test Clinician (sandbox)' };

const isLoopbackUrl = (value: string): boolean =>
  URL.canParse(value) && /^https?:$/.test(new URL(value).protocol) && LOOPBACK_HOST.test(new URL(value).host);
const base64url = (bytes: Buffer): string => bytes.toString('base64url');
const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A bounded map: the oldest entries go first, so a flood of launches cannot grow memory. */
function remember<V>(map: Map<string, V>, key: string, value: V): void {
  map.set(key, value);
  while (map.size > MAX_ENTRIES) map.delete(map.keys().next().value as string);
}

/** The EHR's opaque launch value for a patient (the sandbox keeps no state for it). */
export function encodeLaunch(patientId: string): string {
  return Buffer.from(JSON.stringify({ patient: patientId }), 'utf8').toString('base64url');
}

function decodeLaunch(launch: string): string {
  try {
    const patient = (JSON.parse(Buffer.from(launch, 'base64url').toString('utf8')) as { patient?: unknown }).patient;
    if (typeof patient === 'string' && FHIR_ID.test(patient)) return patient;
  } catch {
    // fall through
  }
  throw badRequest('Unknown launch', ['launch']);
}

export function createSmartSandboxRouter(options: SmartSandboxOptions): Router {
  const { repo, fhirPath, appLaunchPath, logger } = options;
  const now = options.now ?? Date.now;
  const codes = new Map<string, Grant>();
  const tokens = new Map<string, { expires: number }>();
  const signingKey = generateKeyPair('RS256', { extractable: true });
  const router = express.Router();

  /** The origin as the browser sees it (localhost or 127.0.0.1), so every URL handed out stays on that origin. */
  const originOf = (req: Request): string =>
    LOOPBACK_HOST.test(req.headers.host ?? '') ? `${req.protocol}://${req.headers.host}` : options.origin;
  const patientExists = (id: string): boolean => repo.currentVersionId('Patient', id) !== undefined;

  router.use([fhirPath, SMART_PATHS.token], (req: Request, res: Response, next: NextFunction) => {
    const origin = req.headers.origin;
    if (origin && isLoopbackUrl(origin)) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Vary', 'Origin');
      res.setHeader('Access-Control-Allow-Headers', 'Authorization, Content-Type, Prefer, If-Match');
      res.setHeader('Access-Control-Allow-Methods', 'GET, POST, PUT, PATCH, DELETE, OPTIONS');
    }
    if (req.method === 'OPTIONS') {
      res.status(204).end();
      return;
    }
    next();
  });

  router.use(fhirPath, (req: Request, _res: Response, next: NextFunction) => {
    const header = req.headers.authorization;
    if (header === undefined) return next();
    const token = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
    const issued = token ? tokens.get(token) : undefined;
    if (!issued || issued.expires <= now()) return next(unauthorized('Unknown or expired access token'));
    next();
  });

  router.get(`${fhirPath}/.well-known/smart-configuration`, (req, res) => {
    const origin = originOf(req);
    res.json(smartConfiguration(smartEndpoints(origin), `${origin}${fhirPath}`));
  });

  router.get(SMART_PATHS.launch, (req, res) => {
    const patient = String(req.query.patient ?? '');
    if (!FHIR_ID.test(patient) || !patientExists(patient)) throw badRequest('Unknown patient', ['patient']);
    const iss = `${originOf(req)}${fhirPath}`;
    res.redirect(302, `${appLaunchPath}?iss=${encodeURIComponent(iss)}&launch=${encodeLaunch(patient)}`);
  });

  router.get(SMART_PATHS.authorize, (req, res) => {
    const q = req.query as Record<string, string | undefined>;
    const redirectUri = q.redirect_uri ?? '';
    if (!isLoopbackUrl(redirectUri)) throw badRequest('redirect_uri must be a loopback URL', ['redirect_uri']);
    if (q.response_type !== 'code') throw badRequest('response_type must be code', ['response_type']);
    if (!q.client_id) throw badRequest('client_id is required', ['client_id']);
    if (q.code_challenge_method !== 'S256' || !/^[A-Za-z0-9_-]{43}$/.test(q.code_challenge ?? '')) {
      throw badRequest('PKCE with S256 is required', ['code_challenge']);
    }
    const aud = q.aud ?? '';
    if (!isLoopbackUrl(aud) || new URL(aud).pathname.replace(/\/+$/, '') !== fhirPath) {
      throw badRequest('aud must be the sandbox FHIR base', ['aud']);
    }
    const scope = q.scope ?? '';
    const scopes = scope.split(/\s+/);
    let patient: string | undefined;
    if (q.launch) patient = decodeLaunch(q.launch);
    else if (scopes.includes('launch/patient')) {
      if (!q.patient) {
        res.type('html').send(patientPicker(req.originalUrl, repo));
        return;
      }
      patient = q.patient;
    }
    if (patient !== undefined && (!FHIR_ID.test(patient) || !patientExists(patient))) {
      throw badRequest('Unknown patient', ['patient']);
    }
    const code = base64url(randomBytes(32));
    remember(codes, code, {
      clientId: q.client_id,
      redirectUri,
      challenge: q.code_challenge as string,
      scope,
      aud,
      ...(patient ? { patient } : {}),
      expires: now() + CODE_TTL_MS,
    });
    const target = new URL(redirectUri);
    target.searchParams.set('code', code);
    if (q.state) target.searchParams.set('state', q.state);
    logger.info(
      { clientId: q.client_id, patientId: patient, launch: q.launch ? 'ehr' : 'standalone' },
      'sandbox SMART sign-in',
    );
    res.redirect(302, target.toString());
  });

  router.post(SMART_PATHS.token, express.urlencoded({ extended: false, limit: '16kb' }), async (req, res) => {
    const body = (req.body ?? {}) as Record<string, string | undefined>;
    const grant = body.code ? codes.get(body.code) : undefined;
    if (body.code) codes.delete(body.code);
    const verifier = body.code_verifier ?? '';
    const ok =
      body.grant_type === 'authorization_code' &&
      grant !== undefined &&
      grant.expires > now() &&
      grant.redirectUri === body.redirect_uri &&
      grant.clientId === body.client_id &&
      base64url(createHash('sha256').update(verifier).digest()) === grant.challenge;
    if (!ok || !grant) {
      res.status(400).json({ error: 'invalid_grant' });
      return;
    }
    const accessToken = base64url(randomBytes(32));
    remember(tokens, accessToken, { expires: now() + TOKEN_TTL_S * 1000 });
    res.setHeader('Cache-Control', 'no-store');
    res.json({
      access_token: accessToken,
      token_type: 'Bearer',
      expires_in: TOKEN_TTL_S,
      scope: grant.scope,
      ...(grant.patient ? { patient: grant.patient, need_patient_banner: true } : {}),
      ...(grant.scope.split(/\s+/).includes('openid') ? { id_token: await idToken(grant) } : {}),
    });
  });

  router.get(SMART_PATHS.jwks, async (_req, res) => {
    const jwk: JWK = await exportJWK((await signingKey).publicKey);
    res.json({ keys: [{ ...jwk, kid: 'sandbox', alg: 'RS256', use: 'sig' }] });
  });

  async function idToken(grant: Grant): Promise<string> {
    const seconds = Math.floor(now() / 1000);
    return new SignJWT({
      fhirUser: `${grant.aud.replace(/\/+$/, '')}/Practitioner/${CLINICIAN.id}`,
      name: CLINICIAN.name,
    })
      .setProtectedHeader({ alg: 'RS256', kid: 'sandbox' })
      .setIssuer(grant.aud.replace(/\/+$/, ''))
      .setSubject(CLINICIAN.id)
      .setAudience(grant.clientId)
      .setIssuedAt(seconds)
      .setExpirationTime(seconds + TOKEN_TTL_S)
      .sign((await signingKey).privateKey);
  }

  return router;
}

/** The standalone launch's patient choice: the sandbox's patients, each a link back to authorize. */
function patientPicker(authorizeUrl: string, repo: SandboxRepository): string {
  const patients = repo.listCurrent('Patient').sort((a, b) => (a.id < b.id ? -1 : 1));
  const items = patients
    .map((p) => {
      const url = `${authorizeUrl}&patient=${encodeURIComponent(p.id)}`;
      return `<li><a href="${escapeHtml(url)}">${escapeHtml(p.id)}</a></li>`;
    })
    .join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sandbox: choose a patient</title></head>
<body><h1>Sandbox sign-in</h1><p>Signed in as ${escapeHtml(CLINICIAN.name)}. Choose a patient:</p>
<ul>${items || '<li>No patient in the sandbox yet: POST a sample transaction to /fhir/R4 first.</li>'}</ul></body></html>`;
}
