/**
 * Rebuilds the samples from the shared test cases: copies each CASE.bundle.json and CASE.expected.json into
 * samples/cases/ and writes samples/transactions/CASE.transaction.json, the same resources as a transaction
 * Bundle (each entry `PUT Type/id`) that can be POSTed to a FHIR server's base URL as it is.
 *
 *   node samples/build-transactions.ts [../shared/cases]
 *
 * test/cli/samples.test.ts checks that the committed files match what this script writes.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

interface Entry {
  fullUrl?: string;
  resource?: { resourceType: string; id?: string; [key: string]: unknown };
  request?: unknown;
}
interface Bundle {
  resourceType: 'Bundle';
  type: string;
  meta?: unknown;
  entry?: Entry[];
}

export const SAMPLES_DIR = dirname(fileURLToPath(import.meta.url));

/** A stable urn:uuid for "Type/id" (name-based, SHA-1, version 5 layout). */
function urnFor(reference: string): string {
  const h = createHash('sha1').update(`irecist-adapter-sample:${reference}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `urn:uuid:${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

/**
 * The transaction form of a collection Bundle: every entry becomes an update (`PUT Type/id`, which creates the
 * resource with that id when the server allows client-assigned ids). References stay relative (`Patient/x`),
 * so they resolve against the server the Bundle is POSTed to.
 */
export function toTransactionForm(bundle: Bundle): Bundle {
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    ...(bundle.meta ? { meta: bundle.meta } : {}),
    entry: (bundle.entry ?? []).map((e) => {
      const r = e.resource;
      if (!r?.id) throw new Error('every sample resource needs an id');
      const reference = `${r.resourceType}/${r.id}`;
      return { fullUrl: urnFor(reference), resource: r, request: { method: 'PUT', url: reference } };
    }),
  };
}

export const caseNames = (dir: string): string[] =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.bundle.json'))
    .map((f) => f.slice(0, -'.bundle.json'.length))
    .sort();

export const transactionText = (bundle: Bundle): string => `${JSON.stringify(toTransactionForm(bundle), null, 2)}\n`;

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const from = resolve(process.argv[2] ?? join(SAMPLES_DIR, '..', '..', 'shared', 'cases'));
  for (const name of caseNames(from)) {
    for (const suffix of ['bundle', 'expected'])
      copyFileSync(join(from, `${name}.${suffix}.json`), join(SAMPLES_DIR, 'cases', `${name}.${suffix}.json`));
    const bundle = JSON.parse(readFileSync(join(from, `${name}.bundle.json`), 'utf8')) as Bundle;
    writeFileSync(join(SAMPLES_DIR, 'transactions', `${name}.transaction.json`), transactionText(bundle));
    process.stdout.write(`${name}\n`);
  }
}
