/**
 * A loopback HTTP proxy in front of a real server, for the Bulk Data client's tests: every request is recorded
 * (method, path, headers) and forwarded, streamed both ways, unless the test's `plan` answers it itself (a status with
 * headers and a body) or makes it stall half-way through the body.
 */
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Recorded {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
}

export type Plan =
  | undefined
  | { status: number; headers?: Record<string, string>; body?: string }
  /** Forward, send the headers and the first `bytes` of the body, then send nothing more (the connection stays open). */
  | { stallAfterBytes: number };

export interface LoopbackProxy {
  /** The proxy's origin. */
  origin: string;
  /** Where requests are forwarded (an origin; settable after start, so a server can be told the proxy's URL). */
  target: string;
  requests: Recorded[];
  /** Decides per request; undefined forwards it. */
  plan: (request: Recorded) => Plan;
  close(): Promise<void>;
}

export async function startProxy(target = 'http://127.0.0.1:9'): Promise<LoopbackProxy> {
  const proxy: LoopbackProxy = {
    origin: '',
    target,
    requests: [],
    plan: () => undefined,
    close: async () => undefined,
  };
  const server: Server = createServer((req, res) => {
    const recorded: Recorded = { method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers };
    proxy.requests.push(recorded);
    const plan = proxy.plan(recorded);
    if (plan && 'status' in plan) {
      res.writeHead(plan.status, plan.headers ?? {});
      res.end(plan.body ?? '');
      return;
    }
    const upstream = new URL(proxy.target);
    const forward = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: upstream.host },
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        if (!plan) {
          answer.pipe(res);
          return;
        }
        let sent = 0;
        answer.on('data', (chunk: Buffer) => {
          if (sent >= plan.stallAfterBytes) return;
          const part = chunk.subarray(0, plan.stallAfterBytes - sent);
          sent += part.length;
          res.write(part);
        });
      },
    );
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return proxy;
}
