/**
 * `POST /sandbox/load` (sandbox only; not mounted when FHIR_BASE_URL is set): a transaction or collection Bundle in,
 * stored as the hospital's own systems would store it (sandbox-load.ts), the transaction-response Bundle out.
 */
import type { Bundle } from '@medplum/fhirtypes';
import express, { type Request, type Response, type Router } from 'express';
import { unsupportedMediaType } from '../fhir-model/outcomes.ts';
import type { Logger } from '../logging.ts';
import { createErrorHandler } from '../server/error-handler.ts';
import { decorateBundleResponse } from './bundle-handler.ts';
import type { SandboxLoad } from './sandbox-load.ts';
import { DEFAULT_BODY_LIMIT, FHIR_JSON } from './sandbox-router.ts';
import { maskSecrets } from './subscription-exposure.ts';

export const SANDBOX_LOAD_PATH = '/sandbox/load';

const JSON_TYPES = new Set([FHIR_JSON, 'application/json']);

export interface LoadRouterOptions {
  readonly load: SandboxLoad;
  /** The sandbox's FHIR base (fullUrl of the response entries). */
  readonly baseUrl: string;
  readonly logger: Logger;
}

/**
 * The router serving POST /sandbox/load.
 * @param options - The loader, the FHIR base and the logger.
 * @returns The router (mount it on the service's app).
 */
export function createLoadRouter(options: LoadRouterOptions): Router {
  const router = express.Router();
  router.post(
    SANDBOX_LOAD_PATH,
    (req, _res, next) => {
      const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
      next(JSON_TYPES.has(type) ? undefined : unsupportedMediaType('Content-Type must be application/fhir+json'));
    },
    express.json({ type: () => true, limit: DEFAULT_BODY_LIMIT }),
    async (req: Request, res: Response) => {
      let markAnswered = (): void => undefined;
      const answered = new Promise<void>((resolve) => {
        markAnswered = resolve;
      });
      res.once('close', () => markAnswered());
      const result = await options.load(req.body, answered);
      decorateBundleResponse(result.response as Bundle, result.events, options.baseUrl);
      const written = result.events.filter((e) => e.interaction !== 'unchanged').length;
      options.logger.info(
        { entries: result.response.entry?.length ?? 0, written, patients: result.patientIds.length },
        'sandbox load',
      );
      res
        .status(200)
        .setHeader('Content-Type', `${FHIR_JSON}; charset=utf-8`)
        .send(JSON.stringify(maskSecrets(result.response)));
    },
  );
  router.use(
    SANDBOX_LOAD_PATH,
    createErrorHandler({
      texts: {
        tooLarge: 'Request body too large',
        encoding: 'Unsupported content encoding',
        malformed: 'Malformed request body',
      },
      logger: options.logger,
      message: 'sandbox load failed',
    }),
  );
  return router;
}
