/**
 * The SMART on FHIR app at /app (SMART App Launch 2, EHR and standalone launch, with fhirclient in the browser):
 * - `/app/launch`: the launch URL (an EHR opens it with `iss` and `launch`; standalone with `iss` alone);
 * - `/app/`: the app: reads the patient's data from the FHIR server with its own SMART token, draws the charts with
 *   ECharts and the same option builder as the server's SVG, the lesion table, the report history and the Flag;
 * - `/app/lib/*.ts`: the shared chart modules, type-stripped (browser-modules.ts); `/app/vendor/*`: ECharts and
 *   fhirclient from node_modules; `/app/config.json`: the client id, scopes and the searches to make;
 * - `POST /app/api/chart-model`: a Bundle of the resources the app read in, the chart model out. The engine needs
 *   Node (hashing, the profiles), so the browser posts what it read with its own token; the adapter reads nothing,
 *   stores nothing and logs no content. Its credentials are never used for the browser's user.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import express, { type Request, type Response, type Router } from 'express';
import { chartModelOf } from '../charts/chart-data.ts';
import { EXTENSION, IRECIST_SYSTEM, PROFILE } from '../codes.ts';
import type { SmartAppSettings } from '../config/smart-app-settings.ts';
import { contextRequestTemplates } from '../fhir/read-patient-context.ts';
import { OutcomeError, outcome } from '../fhir-model/outcomes.ts';
import type { Logger } from '../logging.ts';
import { sourceStatement } from '../mapping/decision-support-source.ts';
import { assessBundle } from '../pipeline/assess-resources.ts';
import { browserModule } from './browser-modules.ts';

export interface AppRouterOptions {
  smartApp: SmartAppSettings;
  logger: Logger;
}

/** Where the app is mounted and where EHRs send a launch. */
export const APP_PATH = '/app';
export const APP_LAUNCH_PATH = `${APP_PATH}/launch`;
/** The token the app replaces with the patient id in the searches of config.json. */
const PATIENT_TOKEN = '{patient}';
const BODY_LIMIT = '20mb';

const PUBLIC_DIR = fileURLToPath(new URL('./public/', import.meta.url));
const require = createRequire(import.meta.url);
const VENDOR: Record<string, string> = {
  'echarts.esm.min.mjs': require.resolve('echarts/dist/echarts.esm.min.mjs'),
  'fhir-client.min.js': require.resolve('fhirclient/build/fhir-client.min.js'),
};

/**
 * The page may talk to its own origin and to any FHIR server an EHR launches it against (https, or the local
 * sandbox); scripts only from here. EHRs show SMART apps in frames, so framing stays allowed.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self' https: http://127.0.0.1:* http://localhost:*",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

function securityHeaders(_req: Request, res: Response, next: () => void): void {
  res.setHeader('Content-Security-Policy', CONTENT_SECURITY_POLICY);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  // The authorization code arrives in the page URL: it must not leak to other sites in a Referer.
  res.setHeader('Referrer-Policy', 'no-referrer');
  next();
}

export function createAppRouter(options: AppRouterOptions): Router {
  const router = express.Router();
  router.use(securityHeaders);
  const page = (file: string) => (_req: Request, res: Response) => {
    res.setHeader('Cache-Control', 'no-store');
    res.sendFile(file, { root: PUBLIC_DIR });
  };
  router.get('/', page('index.html'));
  router.get('/launch', page('launch.html'));
  router.use('/assets', express.static(PUBLIC_DIR, { index: false, redirect: false }));

  router.get('/config.json', (_req, res) => {
    res.json({
      clientId: options.smartApp.clientId,
      scope: options.smartApp.scope,
      patientToken: PATIENT_TOKEN,
      searches: contextRequestTemplates(PATIENT_TOKEN).slice(1),
      codes: {
        irecist: IRECIST_SYSTEM,
        flagProfile: PROFILE.flag,
        reportProfile: PROFILE.report,
        flagPriorityExtension: EXTENSION.flagPriority,
      },
      source: sourceStatement(),
    });
  });

  router.get('/lib/:name', (req, res) => {
    const js = browserModule(req.params.name);
    if (js === undefined) throw new OutcomeError(outcome('not-found', 'Not found'), 404);
    res.type('text/javascript').send(js);
  });

  router.get('/vendor/:name', (req, res) => {
    const file = VENDOR[req.params.name];
    if (!file) throw new OutcomeError(outcome('not-found', 'Not found'), 404);
    res.type('text/javascript').sendFile(file);
  });

  router.post(
    '/api/chart-model',
    express.json({ limit: BODY_LIMIT, type: ['application/json', 'application/fhir+json'] }),
    (req, res) => {
      const result = assessBundle(req.body, { chartReports: 0 }); // the app draws its own charts
      options.logger.debug(
        { patientId: result.assessment.patientId, timepoints: result.assessment.timepoints.length },
        'app chart model computed',
      );
      res.json(chartModelOf(result.assessment, { record: result.mapped.record }));
    },
  );

  return router;
}
