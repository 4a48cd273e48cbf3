#!/usr/bin/env node
// The command runs the TypeScript sources directly (Node >= 24 strips types). When an older `node` is first
// on PATH (e.g. a system Node run by npx), hand over to the Node 24 that the `node` devDependency installs.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const main = join(root, 'src', 'cli', 'main.ts');
const major = Number(process.versions.node.split('.')[0]);
if (major >= 24) {
  await import(main);
} else {
  const bundled = join(root, 'node_modules', 'node', 'bin', 'node');
  if (!existsSync(bundled)) {
    process.stderr.write(`irecist-adapter needs Node >= 24 (this is ${process.version}); run npm ci first.\n`);
    process.exit(1);
  }
  const run = spawnSync(bundled, [main, ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(run.status ?? 1);
}
