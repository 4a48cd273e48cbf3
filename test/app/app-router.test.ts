/**
 * The SMART app's server side: the shared chart modules reach the browser type-stripped and build the same option
 * as on the server; only that folder is served; the chart-model endpoint gives the server's model of what the app
 * posts; the pages carry their security headers.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAppRouter } from '../../src/app/app-router.ts';
import { browserModuleNames } from '../../src/app/browser-modules.ts';
import { chartModelOf } from '../../src/charts/chart-data.ts';
import { buildTumourBurdenOption } from '../../src/charts/shared/chart-option.ts';
import { DEFAULT_SMART_APP_SCOPE } from '../../src/config/smart-app-settings.ts';
import { logger } from '../../src/logging.ts';
import { assessBundle } from '../../src/pipeline/assess-resources.ts';
import { errorHandler, notFoundHandler } from '../../src/server/error-handler.ts';
import { readCase } from '../cli/case-check.ts';

let server: Server;
let url: string;

beforeAll(async () => {
  const app = express();
  app.use('/app', createAppRouter({ smartApp: { clientId: 'test-app', scope: DEFAULT_SMART_APP_SCOPE }, logger }));
  app.use(notFoundHandler);
  app.use(errorHandler);
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server?.close(() => resolve()));
});

describe('shared chart modules in the browser', () => {
  it.each(browserModuleNames())('%s is served as JavaScript importing only ./ siblings', async (name) => {
    const res = await fetch(`${url}/app/lib/${name}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    const js = await res.text();
    const specifiers = [...js.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+['"]([^'"]+)['"]/gm)].map((m) => m[1]);
    expect(specifiers.every((s) => s?.startsWith('./'))).toBe(true);
    expect(js).not.toMatch(/\bprocess\.|\brequire\(|node:/);
  });

  it('the stripped option builder, run as plain JavaScript, builds exactly the server option', async () => {
    // Every shared module as the browser gets it, saved as .mjs with its ./x.ts imports pointed at the .mjs files.
    const dir = mkdtempSync(join(tmpdir(), 'irecist-app-'));
    for (const name of browserModuleNames()) {
      const js = await (await fetch(`${url}/app/lib/${name}`)).text();
      const mjs = js.replace(/(from\s+['"]\.\/[a-z0-9-]+)\.ts(['"])/g, '$1.mjs$2');
      writeFileSync(join(dir, name.replace(/\.ts$/, '.mjs')), mjs);
    }
    const file = pathToFileURL(join(dir, 'chart-option.mjs')).href;
    const browser = (await import(file)) as typeof import('../../src/charts/shared/chart-option.ts');
    const { assessment, mapped } = assessBundle(readCase('pseudoprogression').bundle);
    const model = JSON.parse(JSON.stringify(chartModelOf(assessment, { record: mapped.record })));
    expect(browser.buildTumourBurdenOption(model, { interactive: true })).toEqual(
      buildTumourBurdenOption(model, { interactive: true }),
    );
  });

  it.each(['/app/lib/..%2F..%2Fconfig.ts', '/app/lib/chart-data.ts', '/app/lib/render-svg.ts', '/app/vendor/pg.js'])(
    '%s is not served (404)',
    async (path) => {
      const res = await fetch(`${url}${path}`);
      expect(res.status).toBe(404);
    },
  );

  it('serves ECharts and fhirclient from node_modules', async () => {
    for (const name of ['echarts.esm.min.mjs', 'fhir-client.min.js']) {
      const res = await fetch(`${url}/app/vendor/${name}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/javascript/);
    }
  });
});

describe('pages and settings', () => {
  it.each(['/app/', '/app/launch'])('%s: HTML with a content security policy and no referrer', async (path) => {
    const res = await fetch(`${url}${path}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(await res.text()).toContain('/app/vendor/fhir-client.min.js');
  });

  it('config.json gives the client id, the scopes and the worker searches', async () => {
    const config = (await (await fetch(`${url}/app/config.json`)).json()) as Record<string, unknown>;
    expect(config).toMatchObject({
      clientId: 'test-app',
      scope: DEFAULT_SMART_APP_SCOPE,
      patientToken: '{patient}',
      searches: [
        'Observation?subject=Patient/{patient}&_count=1000',
        'ImagingStudy?subject=Patient/{patient}&_count=1000',
        'MedicationAdministration?subject=Patient/{patient}&_include=MedicationAdministration:medication&_count=1000',
        'BodyStructure?patient=Patient/{patient}&_count=1000',
        'Flag?subject=Patient/{patient}&_count=1000',
      ],
    });
  });
});

describe('POST /app/api/chart-model', () => {
  it('gives the chart model the server draws for the resources posted', async () => {
    const bundle = readCase('hyperprogression').bundle;
    const res = await fetch(`${url}/app/api/chart-model`, {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json' },
      body: JSON.stringify(bundle),
    });
    expect(res.status).toBe(200);
    const { assessment, mapped } = assessBundle(bundle);
    expect(await res.json()).toEqual(JSON.parse(JSON.stringify(chartModelOf(assessment, { record: mapped.record }))));
  });

  it('answers an OperationOutcome for a body that is not a Bundle', async () => {
    const res = await fetch(`${url}/app/api/chart-model`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ resourceType: 'Patient', id: 'x' }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { resourceType: string }).resourceType).toBe('OperationOutcome');
  });
});
