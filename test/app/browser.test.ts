/**
 * The SMART app in a real headless Chromium, launched against the sandbox as an EHR launches it (the launch URL with
 * `iss` and `launch`), checked for what a clinician sees: the chart's markers at the right dates, the lesion table's
 * values, the report history and the Flag; every FHIR read made with the app's own token. Then a standalone launch,
 * and a chart without a Flag that shows the CancerDiseaseStatus instead.
 */
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeLaunch } from '../../src/sandbox/smart-authorization.ts';
import { loadCase, type StartedAdapter, startAdapter } from '../cds-hooks/cds-harness.ts';
import { waitForQuiet } from '../e2e/harness.ts';
import { launchChromium } from './chromium.ts';

const BROWSER_TIMEOUT = 90_000;

/** The few DOM members the page functions use (the project's TypeScript has no DOM library). */
interface PageElement {
  textContent: string | null;
  getAttribute(name: string): string | null;
  getBoundingClientRect(): { left: number; right: number; width: number };
  querySelectorAll(selector: string): ArrayLike<PageElement>;
}
interface PageGlobals {
  document: { querySelector(selector: string): PageElement | null; body: { dataset: Record<string, string> } };
  irecistApp: { chart: { convertToPixel(finder: object, value: number): number } };
}
let adapter: StartedAdapter;
let browser: BrowserContext;
let url: string;
let fhir: string;

async function post(path: string, body: unknown): Promise<void> {
  const res = await fetch(`${fhir}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/fhir+json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`POST ${path}: ${res.status}`);
}

beforeAll(async () => {
  browser = await launchChromium();
  adapter = await startAdapter({});
  url = adapter.service.url;
  fhir = `${url}/fhir/R4`;
  for (const name of ['pseudoprogression', 'responder']) await loadCase(fhir, name);
  await waitForQuiet(adapter.service);
}, BROWSER_TIMEOUT);
afterAll(async () => {
  await browser?.close();
  await adapter?.stop();
});

async function ready(page: Page): Promise<void> {
  await page.waitForFunction(
    () => (globalThis as unknown as PageGlobals).document.body.dataset.ready !== undefined,
    null,
    { timeout: 30_000 },
  );
  const state = await page.evaluate(() => (globalThis as unknown as PageGlobals).document.body.dataset.ready);
  if (state !== 'true') throw new Error(`app failed: ${await page.textContent('#message')}`);
}

/** The horizontal pixel of a date on the main panel's axis, and the centre of the SVG text with this label. */
async function labelAndDate(page: Page, label: string, date: string): Promise<{ label: number; date: number }> {
  return page.evaluate(
    ([text, day]) => {
      const { document, irecistApp: app } = globalThis as unknown as PageGlobals;
      const svg = document.querySelector('#chart svg') as PageElement;
      const node = Array.from(svg.querySelectorAll('text')).find((t) => t.textContent === text);
      if (!node) throw new Error(`no label ${text}`);
      const box = node.getBoundingClientRect();
      const [y, m, d] = (day as string).split('-').map(Number);
      return {
        label: box.left + box.width / 2 - svg.getBoundingClientRect().left,
        date: app.chart.convertToPixel({ xAxisIndex: 0 }, Date.UTC(y as number, (m as number) - 1, d as number)),
      };
    },
    [label, date],
  );
}

describe('EHR launch of the app against the sandbox', () => {
  let page: Page;
  const fhirAuthorizations: (string | undefined)[] = [];
  let accessToken: string | undefined;
  let tokenPatient: string | undefined;

  beforeAll(async () => {
    page = await browser.newPage();
    page.on('request', (request) => {
      // Discovery (.well-known, metadata) comes before there is a token; every read after it must carry one.
      const discovery = /\/(\.well-known\/smart-configuration|metadata)$/.test(request.url());
      if (request.url().startsWith(fhir) && !discovery) fhirAuthorizations.push(request.headers().authorization);
    });
    page.on('response', async (response) => {
      if (response.url().endsWith('/sandbox/smart/token') && response.ok()) {
        const body = (await response.json()) as { access_token: string; patient: string };
        accessToken = body.access_token;
        tokenPatient = body.patient;
      }
    });
    await page.goto(`${url}/app/launch?iss=${encodeURIComponent(fhir)}&launch=${encodeLaunch('pseudoprogression')}`);
    await ready(page);
  }, BROWSER_TIMEOUT);

  it('read every FHIR resource with the token the sandbox issued for this launch', () => {
    expect(tokenPatient).toBe('pseudoprogression');
    expect(accessToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(fhirAuthorizations.length).toBeGreaterThanOrEqual(7);
    expect(new Set(fhirAuthorizations)).toEqual(new Set([`Bearer ${accessToken}`]));
  });

  it('shows the patient and the active Flag', async () => {
    expect(await page.textContent('#patient')).toBe(
      'Ottoline Maribel Quillfeather · Patient/pseudoprogression · born 1938-09-17',
    );
    const flag = page.locator('#flag');
    expect(await flag.getAttribute('data-code')).toBe('pseudoprogression');
    expect(await flag.getAttribute('data-priority')).toBe('low');
    expect(await page.textContent('#flag .code')).toBe('Pseudoprogression');
    expect(await page.textContent('#flag .since')).toBe('Since 2026-04-20');
  });

  it.each([
    ['iUPD 2026-03-09', '2026-03-09'],
    ['reset 2026-04-20', '2026-04-20'],
  ])('draws the %s marker at its date', async (label, date) => {
    const at = await labelAndDate(page, label, date);
    expect(Math.abs(at.label - at.date)).toBeLessThan(2);
  });

  it('labels each scan with its response at its date', async () => {
    for (const [label, date] of [
      ['iUPD', '2026-03-09'],
      ['iSD', '2026-04-20'],
      ['iPR', '2026-06-15'],
    ] as const) {
      const at = await labelAndDate(page, label, date);
      expect(Math.abs(at.label - at.date)).toBeLessThan(2);
    }
  });

  it('shades the confirmation window from 2026-04-06 to 2026-05-04', async () => {
    const span = await page.evaluate(() => {
      const { document, irecistApp: app } = globalThis as unknown as PageGlobals;
      const svg = document.querySelector('#chart svg') as PageElement;
      // The browser's SVG renderer writes the colour and its opacity apart: rgb(255,152,0) at 0.14.
      const area = Array.from(svg.querySelectorAll('path')).find((p) =>
        /^rgba?\(255, ?152, ?0\b/.test(p.getAttribute('fill') ?? ''),
      );
      if (!area) throw new Error('no confirmation window');
      const box = area.getBoundingClientRect();
      const left = svg.getBoundingClientRect().left;
      return {
        from: box.left - left,
        to: box.right - left,
        expectedFrom: app.chart.convertToPixel({ xAxisIndex: 0 }, Date.UTC(2026, 3, 6)),
        expectedTo: app.chart.convertToPixel({ xAxisIndex: 0 }, Date.UTC(2026, 4, 4)),
      };
    });
    expect(Math.abs(span.from - span.expectedFrom)).toBeLessThan(2);
    expect(Math.abs(span.to - span.expectedTo)).toBeLessThan(2);
  });

  it('has the lesion table with each measurement, the sums and the responses', async () => {
    const row = (selector: string) =>
      page.$$eval(`#lesion-table ${selector} td[data-date]`, (cells) =>
        cells.map((c) => [c.getAttribute('data-date'), c.textContent]),
      );
    const dates = ['2026-01-05', '2026-03-09', '2026-04-20', '2026-06-15'];
    const zip = (values: string[]) => dates.map((d, i) => [d, values[i]]);
    expect(await row('tr[data-lesion="pseudoprogression-L1"]')).toEqual(zip(['30', '40', '28', '18']));
    expect(await row('tr[data-lesion="pseudoprogression-L2"]')).toEqual(zip(['20', '24', '16', '12']));
    expect(await row('tr.sum')).toEqual(zip(['50', '64', '44', '30']));
    expect(await row('tr.response')).toEqual(zip(['baseline', 'iUPD', 'iSD', 'iPR']));
  });

  it('lists the adapter reports, newest first', async () => {
    const reports = await page.$$eval('#reports li', (items) =>
      items.map((li) => [li.getAttribute('data-date'), li.getAttribute('data-response')]),
    );
    expect(reports).toEqual([
      ['2026-06-15', 'iPR'],
      ['2026-04-20', 'iSD'],
      ['2026-03-09', 'iUPD'],
    ]);
    expect(await page.textContent('#reports li:last-child .conclusion')).toContain(
      'confirm with a scan between 2026-04-06 and 2026-05-04',
    );
  });
});

describe('other launches', () => {
  it(
    'standalone launch: the clinician picks the patient at sign-in',
    async () => {
      const page = await browser.newPage();
      await page.goto(`${url}/app/launch?iss=${encodeURIComponent(fhir)}`);
      await page.click('a:text-is("responder")');
      await ready(page);
      expect(await page.textContent('#patient')).toContain('Patient/responder');
      // No flagged status: the latest CancerDiseaseStatus Observation is what the status box shows.
      expect(await page.getAttribute('#flag', 'data-state')).toBe('disease-status');
      expect(await page.textContent('#flag')).toContain("Cancer disease status: Patient's condition improved");
      await page.close();
    },
    BROWSER_TIMEOUT,
  );

  it(
    'no active Flag: shows the CancerDiseaseStatus Observation when there is one',
    async () => {
      await post('/Observation', {
        resourceType: 'Observation',
        status: 'final',
        code: { coding: [{ system: 'http://loinc.org', code: '97509-4', display: 'Cancer disease status' }] },
        subject: { reference: 'Patient/responder' },
        effectiveDateTime: '2026-07-01',
        valueCodeableConcept: {
          coding: [{ system: 'http://snomed.info/sct', code: '268910001', display: 'Improved' }],
        },
      });
      const page = await browser.newPage();
      await page.goto(`${url}/sandbox/smart/launch?patient=responder`);
      await ready(page);
      expect(await page.getAttribute('#flag', 'data-state')).toBe('disease-status');
      expect(await page.textContent('#flag .code')).toBe('Cancer disease status: Improved');
      await page.close();
    },
    BROWSER_TIMEOUT,
  );
});
