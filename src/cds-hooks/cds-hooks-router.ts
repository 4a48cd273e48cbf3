/**
 * CDS Hooks 2.0 on the adapter: `GET /cds-services` (discovery), `POST /cds-services/irecist-patient-view`
 * (patient-view: the patient's current iRECIST status as one card) and `POST .../feedback` (accepted / overridden,
 * stored and counted). Every call but discovery needs a client's signed JWT (client-jwt.ts): without one, 401 and no
 * card. Errors answer an OperationOutcome, as the specification suggests.
 * https://cds-hooks.hl7.org/2.0/
 */
import { randomUUID } from 'node:crypto';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import { OutcomeError, zodIssuesToOutcome } from '../fhir-model/outcomes.ts';
import type { Logger } from '../logging.ts';
import { assessResources } from '../pipeline/assess-resources.ts';
import { type CdsMetrics, reasonLabel } from './cds-metrics.ts';
import type { CdsStore, FeedbackItem } from './cds-store.ts';
import type { ClientJwtVerifier } from './client-jwt.ts';
import { type HookFhirAccess, hookResources } from './hook-resources.ts';
import { patientViewCards } from './patient-view-cards.ts';
import { discoveryDocument, HOOK, SERVICE_ID } from './patient-view-service.ts';

export interface CdsHooksDeps {
  store: CdsStore;
  verifier: ClientJwtVerifier;
  access: HookFhirAccess;
  /** The base URLs this service is reached at (PUBLIC_URL and this process's own): a JWT's `aud` is one + the path. */
  baseUrls: readonly string[];
  /** The SMART app's launch URL, linked from every card. */
  appLaunchUrl: string;
  metrics: CdsMetrics;
  logger: Logger;
}

/** Prefetch Bundles of a long history run to megabytes; notifications allow 10 MiB, a hook call a little more. */
const BODY_LIMIT = '20mb';
const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;

const hookRequest = z
  .object({
    hook: z.literal(HOOK),
    hookInstance: z.string().min(1).max(256),
    fhirServer: z
      .string()
      .refine((v) => URL.canParse(v) && /^https?:$/.test(new URL(v).protocol), {
        error: 'must be an http(s) URL',
      })
      .optional(),
    fhirAuthorization: z
      .looseObject({ access_token: z.string().min(1), token_type: z.string().regex(/^bearer$/i) })
      .optional(),
    context: z.looseObject({ patientId: z.string().regex(FHIR_ID, { error: 'must be a FHIR id' }) }),
    prefetch: z.record(z.string(), z.unknown()).optional(),
  })
  .refine((r) => r.fhirAuthorization === undefined || r.fhirServer !== undefined, {
    error: 'fhirServer is required with fhirAuthorization',
    path: ['fhirServer'],
  });

const coding = z.looseObject({ system: z.string().min(1), code: z.string().min(1), display: z.string().optional() });
const feedbackRequest = z.object({
  feedback: z
    .array(
      z.looseObject({
        card: z.string().min(1).max(256),
        outcome: z.enum(['accepted', 'overridden']),
        outcomeTimestamp: z.string().min(1).max(64),
        overrideReason: z.looseObject({ reason: coding.optional(), userComment: z.string().optional() }).optional(),
      }),
    )
    .min(1)
    .max(100),
});

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body);
  if (!result.success)
    throw new OutcomeError(zodIssuesToOutcome(result.error.issues, 'Invalid CDS Hooks request'), 400);
  return result.data;
}

/** The metric label of a failed call, by the status it answers. */
function requestOutcome(err: unknown): string {
  const status = err instanceof OutcomeError ? err.status : (err as { status?: number } | null)?.status;
  if (status === 401) return 'unauthenticated';
  if (status === 412) return 'precondition-failed';
  if (typeof status === 'number' && status >= 400 && status < 500) return 'invalid';
  return 'error';
}

/** CDS clients may run in a browser (the specification's CORS note); they authenticate with a JWT, not cookies. */
function cors(req: Request, res: Response, next: NextFunction): void {
  res.setHeader('Access-Control-Allow-Origin', '*');
  res.setHeader('Access-Control-Allow-Headers', 'Authorization, Content-Type');
  res.setHeader('Access-Control-Allow-Methods', 'GET, POST, OPTIONS');
  if (req.method === 'OPTIONS') {
    res.status(204).end();
    return;
  }
  next();
}

export function createCdsHooksRouter(deps: CdsHooksDeps): Router {
  const router = express.Router();
  const servicePath = `/cds-services/${SERVICE_ID}`;
  const audiences = (path: string): string[] => deps.baseUrls.map((base) => `${base.replace(/\/+$/, '')}${path}`);
  const authenticate = async (req: Request, res: Response, paths: string[]): Promise<string> => {
    try {
      return await deps.verifier.verify(req.headers.authorization, paths.flatMap(audiences));
    } catch (err) {
      res.setHeader('WWW-Authenticate', 'Bearer');
      throw err;
    }
  };
  const json = express.json({ limit: BODY_LIMIT, type: ['application/json', 'application/fhir+json'] });
  /** The body is parsed only once the caller is authenticated (a refused call's body is never read). */
  const readJson = (req: Request, res: Response): Promise<void> =>
    new Promise((resolve, reject) => json(req, res, (err?: unknown) => (err ? reject(err) : resolve())));

  router.use('/cds-services', cors);
  router.get('/cds-services', (_req, res) => {
    res.json(discoveryDocument());
  });

  router.post(servicePath, async (req, res) => {
    let outcome = 'no-card';
    try {
      await authenticate(req, res, [servicePath]);
      await readJson(req, res);
      const request = parse(hookRequest, req.body);
      const patientId = request.context.patientId;
      const resources = await hookResources(
        {
          patientId,
          fhirServer: request.fhirServer,
          fhirAuthorization: request.fhirAuthorization,
          prefetch: request.prefetch,
        },
        deps.access,
      );
      const assessment = resources ? assessResources(resources, { chartReports: 0 }).assessment : undefined;
      const cards = assessment
        ? patientViewCards(assessment, deps.appLaunchUrl).map((c) => ({ uuid: randomUUID(), ...c }))
        : [];
      const status = assessment?.status ?? 'unknown';
      await deps.store.recordCards(cards.map((c) => ({ uuid: c.uuid, indicator: c.indicator, status })));
      outcome = cards.length > 0 ? 'cards' : 'no-card';
      for (const c of cards) deps.metrics.cards.inc({ indicator: c.indicator });
      deps.logger.info(
        { patientId, cards: cards.length, indicator: cards[0]?.indicator },
        'CDS Hooks patient-view answered',
      );
      res.json({ cards });
    } catch (err) {
      outcome = requestOutcome(err);
      throw err;
    } finally {
      deps.metrics.requests.inc({ outcome });
    }
  });

  router.post(`${servicePath}/feedback`, async (req, res) => {
    await authenticate(req, res, [`${servicePath}/feedback`, servicePath]);
    await readJson(req, res);
    const { feedback } = parse(feedbackRequest, req.body);
    let unknown = 0;
    for (const f of feedback) {
      const item: FeedbackItem = {
        card: f.card,
        outcome: f.outcome,
        outcomeTimestamp: f.outcomeTimestamp,
        ...(f.overrideReason?.reason ? { reason: f.overrideReason.reason } : {}),
        ...(f.overrideReason?.userComment ? { userComment: f.overrideReason.userComment } : {}),
      };
      const recorded = await deps.store.recordFeedback(item);
      if (!recorded.stored) unknown++;
      if (recorded.stored && recorded.duplicate) continue;
      deps.metrics.feedback.inc({
        outcome: f.outcome,
        indicator: recorded.stored ? recorded.indicator : 'unknown-card',
        reason: reasonLabel(f.overrideReason?.reason?.code),
      });
    }
    deps.logger.info({ items: feedback.length, unknownCards: unknown }, 'CDS Hooks feedback received');
    res.json({});
  });

  return router;
}
