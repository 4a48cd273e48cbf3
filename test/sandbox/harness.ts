/**
 * Test harness: the sandbox mounted in an express app on an ephemeral loopback port, plus a loopback
 * subscriber server that records every notification (raw body bytes and headers). No mocks.
 */
import type { IncomingHttpHeaders, Server } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Resource } from '@medplum/fhirtypes';
import express from 'express';
import { pino } from 'pino';
import type { Sandbox, SandboxOptions } from '../../src/sandbox/index.ts';
import { createSandbox } from '../../src/sandbox/index.ts';
import { createLoadRouter } from '../../src/sandbox/load-router.ts';

/** Parsed JSON in tests (assertions check the shape). */
// biome-ignore lint/suspicious/noExplicitAny: test code reads arbitrary FHIR JSON
export type Json = any;

export interface FhirResult<T = Json> {
  status: number;
  headers: Headers;
  body: T;
}

export interface SandboxHarness {
  readonly origin: string;
  readonly baseUrl: string;
  readonly sandbox: Sandbox;
  /** POST /sandbox/load with a Bundle (or any body). */
  load<T = Json>(body: unknown, headers?: Record<string, string>): Promise<FhirResult<T>>;
  fhir<T = Json>(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<FhirResult<T>>;
  close(): Promise<void>;
}

export async function startSandbox(options: Partial<SandboxOptions> = {}): Promise<SandboxHarness> {
  const app = express();
  const server = createServer(app);
  const origin = await listen(server);
  const baseUrl = `${origin}/fhir/R4`;
  const sandbox = createSandbox({
    baseUrl,
    logger: pino({ level: 'silent' }),
    notifications: { retryBaseDelayMs: 20, retryMaxDelayMs: 100, requestTimeoutMs: 5000 },
    ...options,
  });
  app.use('/fhir/R4', sandbox.router);
  app.use(createLoadRouter({ load: sandbox.load, baseUrl, logger: pino({ level: 'silent' }) }));

  async function fhir<T>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<FhirResult<T>> {
    const init: RequestInit = { method, headers: { accept: 'application/fhir+json', ...headers } };
    if (body !== undefined) {
      init.body = typeof body === 'string' ? body : JSON.stringify(body);
      (init.headers as Record<string, string>)['content-type'] ??= 'application/fhir+json';
    }
    const url = path.startsWith('http') ? path : `${baseUrl}${path.startsWith('/') ? '' : '/'}${path}`;
    const response = await fetch(url, init);
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
  }

  return {
    origin,
    baseUrl,
    sandbox,
    fhir,
    load: (body, headers) => fhir('POST', `${origin}/sandbox/load`, body, headers),
    async close() {
      await sandbox.close();
      await closeServer(server);
    },
  };
}

export interface ReceivedNotification {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly raw: Buffer;
  readonly body: Json;
}

export interface Subscriber {
  readonly url: string;
  readonly received: ReceivedNotification[];
  /** Status to answer for the n-th request (0-based); default 200. May wait before answering. */
  respond: (index: number, notification: ReceivedNotification) => number | Promise<number>;
  close(): Promise<void>;
}

export async function startSubscriber(): Promise<Subscriber> {
  const received: ReceivedNotification[] = [];
  const subscriber: Subscriber = {
    url: '',
    received,
    respond: () => 200,
    close: async () => undefined,
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const notification: ReceivedNotification = {
        path: req.url ?? '',
        headers: req.headers,
        raw,
        body: raw.length ? JSON.parse(raw.toString('utf8')) : undefined,
      };
      const index = received.length;
      received.push(notification);
      void Promise.resolve(subscriber.respond(index, notification)).then((status) => {
        res.statusCode = status;
        res.end();
      });
    });
  });
  const origin = await listen(server);
  return Object.assign(subscriber, {
    url: `${origin}/notifications`,
    close: () => closeServer(server),
  });
}

export function subscription(endpoint: string, criteria: string, extra: Record<string, unknown> = {}): Resource {
  return {
    resourceType: 'Subscription',
    status: 'active',
    reason: 'test',
    criteria,
    channel: { type: 'rest-hook', endpoint, payload: 'application/fhir+json' },
    ...extra,
  } as Resource;
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve(`http://127.0.0.1:${port}`);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
