/**
 * A FHIR server that misbehaves on command, over real sockets: a node:http server on 127.0.0.1 (ephemeral port) in
 * front of a real sandbox FHIR server (startSandboxServer), forwarding every request unless a planned fault says
 * otherwise. Faults are aimed per request kind (the adapter's batch context read, its transaction write, GET metadata,
 * searches) and per patient or globally; the server can also go down (refusing connections, or 503 for everything)
 * and come back. Every request is recorded: when it came, what it was, what was done to it, what was answered.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Bundle, BundleEntry, Patient } from '@medplum/fhirtypes';
import { patientRequest, type SandboxServer, startSandboxServer } from '../e2e/harness.ts';

export type RequestKind = 'read' | 'earlier' | 'write' | 'metadata' | 'search' | 'other';

export type Fault =
  /** Wait, then forward and answer. A slow server keeps working after the client gave up: a write still commits. */
  | { do: 'delay'; ms: number }
  /** Forward, send the headers and the first half of the body at once, the rest after `ms`. */
  | { do: 'slow-body'; ms: number }
  /** Answer this status without forwarding (nothing reaches the real server), optionally with Retry-After. */
  | { do: 'status'; status: number; retryAfter?: string }
  /** Destroy the connection before forwarding: nothing reaches the real server. */
  | { do: 'cut-before' }
  /** Forward (a write is committed), then destroy the connection before answering: the response is lost. */
  | { do: 'cut-after' }
  /** Forward, send the headers and half the body, then destroy the connection. */
  | { do: 'half-response' }
  /**
   * A non-atomic server failing a transaction part way: it commits the entries before `failAt` (default the middle;
   * the adapter's entries refer only to earlier ones, so a prefix is self-consistent), then either answers 200 with
   * entry `failAt` failed (`entryStatus`) and the later ones not processed, or answers `status` (an error) outright.
   */
  | { do: 'partial-commit'; failAt?: number; entryStatus?: string; status?: number }
  /**
   * An atomic server failing one entry: the transaction is forwarded with one more entry that fails (an update of the
   * Patient with If-Match on a version that does not exist), so the real server rolls the whole transaction back and
   * answers the error (412).
   */
  | { do: 'reject-atomic' };

export interface FaultTarget {
  kind: RequestKind;
  /** Only requests about this patient; every request of the kind when absent. */
  patientId?: string;
  /** How many matching requests the fault applies to (default 1); `Infinity` = until cleared. */
  times?: number;
}

export interface RecordedRequest {
  /** Date.now() when the request (headers and body) had arrived. */
  at: number;
  /** Date.now() when the proxy finished with it (answered, cut, or found the client gone). */
  doneAt?: number;
  kind: RequestKind;
  patientId?: string;
  method: string;
  path: string;
  fault?: Fault['do'] | 'down-503';
  /** What the real server answered, when the request was forwarded. */
  upstreamStatus?: number;
  /** What the client was sent (undefined when the connection was cut before a status line). */
  status?: number;
  /** The Retry-After header sent, if any. */
  retryAfter?: string;
  /** The client hung up before the proxy answered (it timed out). */
  clientGone?: boolean;
}

interface PlannedFault {
  target: FaultTarget;
  fault: Fault;
  left: number;
}

export interface MisbehavingFhirServer {
  /** http://127.0.0.1:PORT (the same port across down/up). */
  url: string;
  /** The FHIR base to give the adapter: `${url}/fhir/R4`. */
  baseUrl: string;
  /** The real server behind it (load data and look at its state directly, not through the faults). */
  upstream: SandboxServer;
  /** Every request so far, in arrival order. */
  log: RecordedRequest[];
  /** Plans a fault; several faults for one target apply in the order planned. */
  fail(target: FaultTarget, fault: Fault): void;
  /** Forgets every planned fault. */
  clear(): void;
  /** Called right after a faulty write was answered or cut, with the patient (to look at the server at that instant). */
  onFaultyWrite?: (patientId: string, fault: Fault['do']) => void;
  /** `refuse`: stop listening and drop open connections; `503`: answer 503 to everything (no Retry-After). */
  down(mode: 'refuse' | '503'): Promise<void>;
  up(): Promise<void>;
  /** Resolves when no request is being handled (a delayed write still to forward, a slow body still to send). */
  idle(): Promise<void>;
  /** The recorded requests of one kind about one patient. */
  requestsOf(kind: RequestKind, patientId: string): RecordedRequest[];
  close(): Promise<void>;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'host', 'upgrade']);
const PASSED_RESPONSE_HEADERS = ['content-type', 'etag', 'location', 'content-location', 'last-modified'];
const TRANSIENT_OUTCOME = JSON.stringify({
  resourceType: 'OperationOutcome',
  issue: [{ severity: 'error', code: 'transient', diagnostics: 'misbehaving server' }],
});

/**
 * What a request is: the adapter's context read (in the worker it carries the searches for its earlier results), a
 * separate read-back of its earlier results (where the context read could not give them all) or result write
 * (patientRequest), metadata, a search, or other.
 */
function classify(
  method: string,
  url: URL,
  base: string,
  body: string,
): { kind: RequestKind; patientId?: string; bundle?: Bundle } {
  const fullUrl = `${url.origin}${url.pathname}`;
  if (method === 'POST' && body) {
    try {
      const about = patientRequest(fullUrl, base, { method, body });
      if (about) return { ...about, bundle: JSON.parse(body) as Bundle };
    } catch {
      // Not JSON: other.
    }
  }
  const path = url.pathname.slice(new URL(base).pathname.length).replace(/^\/+/, '');
  if (method === 'GET' && path === 'metadata') return { kind: 'metadata' };
  if (method === 'GET' && /^[A-Z][A-Za-z]+\/?$/.test(path)) {
    const ref = url.searchParams.get('subject') ?? url.searchParams.get('patient') ?? '';
    return ref.startsWith('Patient/') ? { kind: 'search', patientId: ref.slice(8) } : { kind: 'search' };
  }
  return { kind: 'other' };
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

interface Upstream {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export async function startMisbehavingFhirServer(): Promise<MisbehavingFhirServer> {
  const upstream = await startSandboxServer();
  const log: RecordedRequest[] = [];
  let planned: PlannedFault[] = [];
  let mode: 'up' | 'refuse' | '503' = 'up';
  let inFlight = 0;
  const sockets = new Set<Socket>();

  const takeFault = (kind: RequestKind, patientId: string | undefined): Fault | undefined => {
    const found = planned.find(
      (p) => p.left > 0 && p.target.kind === kind && (!p.target.patientId || p.target.patientId === patientId),
    );
    if (!found) return undefined;
    found.left--;
    if (found.left <= 0) planned = planned.filter((p) => p !== found);
    return found.fault;
  };

  const forward = async (req: IncomingMessage, body: Buffer | string): Promise<Upstream> => {
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      if (value === undefined || HOP_BY_HOP.has(name)) continue;
      headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    const method = req.method ?? 'GET';
    const res = await fetch(`${upstream.url}${req.url}`, {
      method,
      headers,
      ...(method === 'GET' || method === 'HEAD' ? {} : { body }),
    });
    const out: Record<string, string> = {};
    for (const name of PASSED_RESPONSE_HEADERS) {
      const value = res.headers.get(name);
      if (value !== null) out[name] = value;
    }
    return { status: res.status, headers: out, body: Buffer.from(await res.arrayBuffer()) };
  };

  const send = (res: ServerResponse, status: number, headers: Record<string, string>, body: Buffer | string): void => {
    if (res.destroyed) return;
    res.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const raw = await readBody(req);
    const text = raw.toString('utf8');
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const about = classify(method, new URL(`${server.url}${url.pathname}${url.search}`), server.baseUrl, text);
    const entry: RecordedRequest = {
      at: Date.now(),
      kind: about.kind,
      ...(about.patientId ? { patientId: about.patientId } : {}),
      method,
      path: url.pathname.slice(new URL(server.baseUrl).pathname.length) || '/',
    };
    log.push(entry);
    res.on('close', () => {
      if (!res.writableFinished) entry.clientGone = true;
    });
    const finish = (status?: number): void => {
      entry.doneAt = Date.now();
      if (status !== undefined) entry.status = status;
    };

    if (mode === '503') {
      entry.fault = 'down-503';
      send(res, 503, { 'content-type': 'application/fhir+json' }, TRANSIENT_OUTCOME);
      return finish(503);
    }
    const fault = takeFault(about.kind, about.patientId);
    if (fault) entry.fault = fault.do;
    const faultyWrite = (): void => {
      if (about.kind === 'write' && about.patientId && fault) server.onFaultyWrite?.(about.patientId, fault.do);
    };

    switch (fault?.do) {
      case undefined: {
        const up = await forward(req, raw);
        entry.upstreamStatus = up.status;
        send(res, up.status, up.headers, up.body);
        return finish(up.status);
      }
      case 'delay': {
        await sleep(fault.ms);
        const up = await forward(req, raw);
        entry.upstreamStatus = up.status;
        send(res, up.status, up.headers, up.body);
        return finish(res.destroyed ? undefined : up.status);
      }
      case 'slow-body': {
        const up = await forward(req, raw);
        entry.upstreamStatus = up.status;
        const half = Math.floor(up.body.length / 2);
        res.writeHead(up.status, { ...up.headers, 'content-length': up.body.length });
        res.write(up.body.subarray(0, half));
        await sleep(fault.ms);
        if (!res.destroyed) res.end(up.body.subarray(half));
        return finish(up.status);
      }
      case 'status': {
        const headers: Record<string, string> = { 'content-type': 'application/fhir+json' };
        if (fault.retryAfter !== undefined) {
          headers['retry-after'] = fault.retryAfter;
          entry.retryAfter = fault.retryAfter;
        }
        send(res, fault.status, headers, TRANSIENT_OUTCOME);
        finish(fault.status);
        return faultyWrite();
      }
      case 'cut-before': {
        req.socket.destroy();
        finish();
        return faultyWrite();
      }
      case 'cut-after': {
        const up = await forward(req, raw);
        entry.upstreamStatus = up.status;
        req.socket.destroy();
        finish();
        return faultyWrite();
      }
      case 'half-response': {
        const up = await forward(req, raw);
        entry.upstreamStatus = up.status;
        res.writeHead(up.status, { ...up.headers, 'content-length': up.body.length });
        res.write(up.body.subarray(0, Math.floor(up.body.length / 2)));
        // Let the headers and the first half leave before the connection goes.
        await sleep(20);
        req.socket.destroy();
        finish(up.status);
        return faultyWrite();
      }
      case 'partial-commit': {
        const entries = about.bundle?.entry ?? [];
        const failAt = Math.min(fault.failAt ?? Math.floor(entries.length / 2), entries.length - 1);
        const prefix: Bundle = { ...(about.bundle as Bundle), entry: entries.slice(0, failAt) };
        const up = failAt > 0 ? await forward(req, JSON.stringify(prefix)) : { status: 200, headers: {}, body: '' };
        entry.upstreamStatus = up.status;
        if (fault.status !== undefined) {
          send(res, fault.status, { 'content-type': 'application/fhir+json' }, TRANSIENT_OUTCOME);
          finish(fault.status);
          return faultyWrite();
        }
        const committed = failAt > 0 ? ((JSON.parse(up.body.toString('utf8')) as Bundle).entry ?? []) : [];
        const failed = (status: string): BundleEntry => ({
          response: { status, outcome: JSON.parse(TRANSIENT_OUTCOME) },
        });
        const answer: Bundle = {
          resourceType: 'Bundle',
          type: 'transaction-response',
          entry: [
            ...committed,
            failed(fault.entryStatus ?? '500 Internal Server Error'),
            ...entries.slice(failAt + 1).map(() => failed('500 Internal Server Error')),
          ],
        };
        send(res, 200, { 'content-type': 'application/fhir+json' }, JSON.stringify(answer));
        finish(200);
        return faultyWrite();
      }
      case 'reject-atomic': {
        // Last, so the server has processed every other entry when it fails and must roll them back.
        const broken = structuredClone(about.bundle as Bundle);
        const patient = await upstream.repo.readResource<Patient>('Patient', about.patientId as string);
        broken.entry?.push({
          fullUrl: `urn:uuid:${crypto.randomUUID()}`,
          resource: patient,
          request: { method: 'PUT', url: `Patient/${patient.id}`, ifMatch: 'W/"no-such-version"' },
        });
        const up = await forward(req, JSON.stringify(broken));
        entry.upstreamStatus = up.status;
        send(res, up.status, up.headers, up.body);
        finish(up.status);
        return faultyWrite();
      }
    }
  };

  const http: Server = createServer((req, res) => {
    inFlight++;
    handle(req, res)
      .catch(() => {
        if (!res.headersSent && !res.destroyed) send(res, 502, {}, '');
        else res.destroy();
      })
      .finally(() => inFlight--);
  });
  http.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const port = (http.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;

  const server: MisbehavingFhirServer = {
    url,
    baseUrl: `${url}/fhir/R4`,
    upstream,
    log,
    fail(target, fault) {
      planned.push({ target, fault, left: target.times ?? 1 });
    },
    clear() {
      planned = [];
    },
    async down(how) {
      if (how === '503') {
        mode = '503';
        return;
      }
      mode = 'refuse';
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
    },
    async up() {
      if (mode === 'refuse') {
        await new Promise<void>((resolve, reject) => {
          http.once('error', reject);
          http.listen(port, '127.0.0.1', () => {
            http.off('error', reject);
            resolve();
          });
        });
      }
      mode = 'up';
    },
    async idle() {
      while (inFlight > 0) await sleep(20);
    },
    requestsOf(kind, patientId) {
      return log.filter((r) => r.kind === kind && r.patientId === patientId);
    },
    async close() {
      if (mode !== 'refuse') {
        await new Promise<void>((resolve) => {
          http.close(() => resolve());
          for (const socket of sockets) socket.destroy();
        });
      }
      await upstream.close();
    },
  };
  return server;
}
