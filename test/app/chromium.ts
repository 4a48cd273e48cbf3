/**
 * Debian's Chromium driven by playwright-core (no browser download): headless, no sandbox (containers), no network
 * of its own (no background networking, component updates or sync), a fresh profile directory per launch.
 * scripts/setup-browser.sh installs it; CHROMIUM_PATH overrides /usr/bin/chromium.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * A browser context on a fresh profile.
 * @param viewport - The page size.
 * @returns The context (close it to end the browser).
 */
export async function launchChromium(viewport = { width: 1100, height: 1400 }): Promise<BrowserContext> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`Chromium not found at ${CHROMIUM_PATH}: run scripts/setup-browser.sh (or set CHROMIUM_PATH)`);
  }
  return chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'irecist-chromium-')), {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: FLAGS,
    viewport,
  });
}
