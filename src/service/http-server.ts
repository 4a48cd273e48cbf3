/** The adapter's HTTP server: an express app with no fingerprint, behind Node's server with deadlines per request. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { logger } from '../logging.ts';

/**
 * Limits against slow and stalled clients (slow loris). Node's defaults are headers within 60 s, the whole request
 * within 300 s, idle keep-alive 5 s, all checked only every 30 s: one client could hold a connection for minutes.
 * Here headers must arrive within 10 s and the whole request within 30 s (notifications are a few KB; even the
 * largest accepted, 10 MiB, arrives in time at 3 Mbit/s), checked every second, so a cut comes at most a second late.
 * A client cut off gets Node's bare 408 and the connection closed.
 */
export const HTTP_LIMITS = {
  headersTimeout: 10_000,
  requestTimeout: 30_000,
  keepAliveTimeout: 5_000,
  connectionsCheckingInterval: 1_000,
} as const;

/** An express app that does not say what it is (no X-Powered-By) and trusts no proxy header. */
export function createApp(): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  return app;
}

/**
 * Listens on `port` (0 = any free port).
 * @param app - The app.
 * @param port - The port.
 * @param host - The interface (default loopback: nothing listens beyond it unless configured).
 * @returns The listening server.
 */
export function listen(app: express.Express, port: number, host = '127.0.0.1'): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer(HTTP_LIMITS, app);
    let listening = false;
    // Kept for the server's life: an accept error (e.g. EMFILE under a flood of connections) must not crash it.
    server.on('error', (err: NodeJS.ErrnoException) => {
      if (!listening) reject(err);
      else logger.warn({ code: err.code }, 'HTTP server error');
    });
    server.listen(port, host, () => {
      listening = true;
      resolve(server);
    });
  });
}

/** Stops taking connections and ends those open (keep-alive ones included). */
export async function closeServer(server: Server): Promise<void> {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections?.();
}

const WILDCARDS = new Set(['0.0.0.0', '::']);

/**
 * The address a server is bound to, told truthfully, and the URL this process reaches itself at.
 * @param address - `server.address()`.
 * @returns The port; `url`, the base URL to reach the server from this machine (loopback when bound to every
 *   interface); `listening`, the bound address as the start-up line says it.
 */
export function boundAddress(address: AddressInfo): { port: number; url: string; listening: string } {
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const wildcard = WILDCARDS.has(address.address);
  const url = `http://${wildcard ? '127.0.0.1' : host}:${address.port}`;
  const listening = `http://${host}:${address.port}${wildcard ? ' (every interface)' : ''}`;
  return { port: address.port, url, listening };
}
