/**
 * The sandbox FHIR server in a process of its own, for the benchmarks that measure the adapter alone (its memory,
 * its acknowledgements not waiting behind the server's work on one event loop): listens on 127.0.0.1, an ephemeral
 * port, prints `{"baseUrl": ...}` as one JSON line, and exits when its standard input closes (the parent is gone)
 * or on SIGTERM.
 *
 *   node bench/sandbox-server.ts
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { createSandbox } from '../src/sandbox/index.ts';

const app = express();
const server = await new Promise<Server>((resolve, reject) => {
  const s = app.listen(0, '127.0.0.1', (err?: Error) => (err ? reject(err) : resolve(s)));
});
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const sandbox = createSandbox({ baseUrl: `${url}/fhir/R4` });
app.use('/fhir/R4', sandbox.router);

const stop = (): void => {
  server.closeAllConnections();
  server.close();
  void sandbox.close().finally(() => process.exit(0));
  setTimeout(() => process.exit(0), 2_000).unref();
};
process.stdin.on('end', stop);
process.stdin.on('error', stop);
process.stdin.resume();
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
process.stdout.write(`${JSON.stringify({ baseUrl: sandbox.baseUrl })}\n`);
