/**
 * `npm run screenshots`: the README's pictures, made from the sandbox rather than drawn by hand. Starts the service in
 * sandbox mode (PGlite in a temporary directory, a free port), loads public cases as a hospital's systems would, waits
 * for the adapter to write its reports, then writes under docs/images/:
 * - tumour-burden-<case>.svg: the chart the server renders for a report's presentedForm;
 * - smart-app.png: the SMART app after an EHR launch (Chromium, scripts/setup-browser.sh).
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderTumourBurdenSvg } from '../src/charts/render-svg.ts';
import { loadConfig } from '../src/config.ts';
import { assessBundle } from '../src/pipeline/assess-resources.ts';
import { startService } from '../src/service/start-service.ts';
import { launchChromium } from '../test/app/chromium.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const OUT = join(ROOT, 'docs/images');
const CHART_CASES = ['pseudoprogression', 'hyperprogression', 'new-lesion-confirmed'];
const APP_CASE = 'pseudoprogression';

mkdirSync(OUT, { recursive: true });
for (const name of CHART_CASES) {
  const bundle = JSON.parse(readFileSync(join(ROOT, `samples/cases/${name}.bundle.json`), 'utf8'));
  const { assessment, mapped } = assessBundle(bundle);
  writeFileSync(join(OUT, `tumour-burden-${name}.svg`), renderTumourBurdenSvg(assessment, { record: mapped.record }));
  process.stderr.write(`docs/images/tumour-burden-${name}.svg\n`);
}

const config = loadConfig({ LOG_LEVEL: 'warn', DATA_DIR: mkdtempSync(join(tmpdir(), 'irecist-screenshots-')) });
config.port = 0;
const service = await startService(config, { host: '127.0.0.1' });
try {
  const transaction = readFileSync(join(ROOT, `samples/transactions/${APP_CASE}.transaction.json`), 'utf8');
  const res = await fetch(`${service.url}/fhir/R4`, {
    method: 'POST',
    headers: { 'content-type': 'application/fhir+json' },
    body: transaction,
  });
  if (!res.ok) throw new Error(`loading ${APP_CASE} failed: ${res.status}`);
  // Quiet = every notification delivered and nothing queued or running, three checks in a row.
  for (let quiet = 0; quiet < 3; ) {
    await service.sandbox?.waitForIdle();
    const stats = await service.queue.stats();
    quiet = stats.queued + stats.active === 0 ? quiet + 1 : 0;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const browser = await launchChromium({ width: 1100, height: 900 });
  try {
    const page = await browser.newPage();
    await page.goto(`${service.url}/sandbox/smart/launch?patient=${APP_CASE}`);
    await page.waitForFunction(
      () =>
        (globalThis as unknown as { document: { body: { dataset: { ready?: string } } } }).document.body.dataset.ready,
      null,
      { timeout: 30_000 },
    );
    await page.screenshot({ path: join(OUT, 'smart-app.png'), fullPage: true });
    process.stderr.write('docs/images/smart-app.png\n');
  } finally {
    await browser.close();
  }
} finally {
  await service.close();
}
