/** The adapter's name and version, from package.json (named in Provenance and the User-Agent). */
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  name: string;
  version: string;
};

export const ADAPTER_NAME: string = pkg.name;
export const ADAPTER_VERSION: string = pkg.version;
