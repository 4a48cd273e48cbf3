/**
 * A tiny real HTTP server on 127.0.0.1 (ephemeral port) for token endpoints and fake FHIR endpoints:
 * every request is recorded; the handler answers with a status, headers and a JSON (or text) body.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  /** Path and query, as sent. */
  url: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface Reply {
  status?: number;
  headers?: Record<string, string>;
  json?: unknown;
  text?: string;
  /** Milliseconds to wait before answering. */
  delayMs?: number;
}

export type Handler = (req: RecordedRequest) => Reply | Promise<Reply>;

/**
 * A fake server's answer to a batch of GETs (its body, JSON text): each entry answered by `answer` as the same GET
 * would be, a status >= 400 as the entry's response outcome.
 */
export function batchResponse(body: string, answer: (path: string, params: URLSearchParams) => Reply): unknown {
  const entry = ((JSON.parse(body) as { entry?: { request?: { url?: string } }[] }).entry ?? []).map((e) => {
    const url = new URL(e.request?.url ?? '', 'http://x/');
    const reply = answer(url.pathname.slice(1), url.searchParams);
    const status = reply.status ?? 200;
    return status >= 400
      ? { response: { status: String(status), outcome: reply.json } }
      : { resource: reply.json, response: { status: `${status} OK` } };
  });
  return { resourceType: 'Bundle', type: 'batch-response', entry };
}

export interface Loopback {
  url: string;
  requests: RecordedRequest[];
  handle(handler: Handler): void;
  close(): Promise<void>;
}

export async function startLoopback(handler: Handler = () => ({ status: 404 })): Promise<Loopback> {
  let current = handler;
  const requests: RecordedRequest[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const parsed = new URL(req.url ?? '/', 'http://127.0.0.1');
      const recorded: RecordedRequest = {
        method: req.method ?? 'GET',
        url: req.url ?? '/',
        path: parsed.pathname,
        query: parsed.searchParams,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(recorded);
      try {
        const reply = await current(recorded);
        if (reply.delayMs) await new Promise((r) => setTimeout(r, reply.delayMs));
        const headers: Record<string, string> = { ...reply.headers };
        let body = reply.text ?? '';
        if (reply.json !== undefined) {
          body = JSON.stringify(reply.json);
          headers['content-type'] ??= 'application/fhir+json';
        }
        res.writeHead(reply.status ?? 200, headers);
        res.end(body);
      } catch (err) {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(String(err));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    handle(h: Handler) {
      current = h;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
