/**
 * The chart option builder reaches the browser without a build step: the files of src/charts/shared/ are served as
 * JavaScript after Node's own type stripping (`module.stripTypeScriptTypes`, the same erasure Node applies when it
 * runs them), once each, on first request. The files keep their `.ts` names so their `./x.ts` imports resolve in the
 * browser unchanged. Only that folder is served, and only names that exist in it.
 * https://nodejs.org/api/module.html#modulestriptypescripttypescode-options
 */
import { readdirSync, readFileSync } from 'node:fs';
import { stripTypeScriptTypes } from 'node:module';
import { fileURLToPath } from 'node:url';

const SHARED_DIR = new URL('../charts/shared/', import.meta.url);
const NAME = /^[a-z0-9-]+\.ts$/;

const available = new Set(readdirSync(fileURLToPath(SHARED_DIR)).filter((f) => NAME.test(f)));
const cache = new Map<string, string>();

/**
 * A shared chart module as browser JavaScript.
 * @param name - The file name, e.g. `chart-option.ts`.
 * @returns The module's JavaScript, or undefined when no such shared module exists.
 */
export function browserModule(name: string): string | undefined {
  if (!available.has(name)) return undefined;
  let js = cache.get(name);
  if (js === undefined) {
    const source = readFileSync(fileURLToPath(new URL(name, SHARED_DIR)), 'utf8');
    js = stripTypeScriptTypes(source, { mode: 'strip' });
    cache.set(name, js);
  }
  return js;
}

/** The names of the shared modules (tests check each is browser-safe). */
export const browserModuleNames = (): string[] => [...available].sort();
