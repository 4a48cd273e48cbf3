#!/usr/bin/env node
// The command runs the TypeScript sources directly (Node >= 24 strips types). When an older `node` is first on PATH
// (e.g. a system Node run by npx), it re-runs itself on the Node 24 that the `node` devDependency installs, as a child
// that gets every signal this process gets (SIGTERM from a container runtime, SIGINT from a terminal), so `serve`
// shuts down gracefully and this process exits with the child's code.
import { spawn } from 'node:child_process';
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
  const child = spawn(bundled, [main, ...process.argv.slice(2)], { stdio: 'inherit' });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => child.kill(signal));
  }
  child.on('error', (err) => {
    process.stderr.write(`irecist-adapter could not start Node 24 (${err.code ?? err.name}).\n`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    process.exit(code ?? (signal ? 128 + ({ SIGINT: 2, SIGHUP: 1, SIGTERM: 15 }[signal] ?? 1) : 1));
  });
}
