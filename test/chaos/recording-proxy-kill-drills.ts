/**
 * Sees the assessments from the FHIR server's side: a reverse proxy in front of the sandbox (one per adapter
 * instance, or one whose label follows the adapter's restarts) records, per patient, each batch context read and
 * each transaction write with the time, and pairs them into assessment intervals (read -> write answered). An
 * instance killed with a read open ends its interval at the moment it died; a write it had already sent ends it when
 * the server answers. Two intervals of one patient that overlap are two assessments at the same moment.
 */
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { patientRequest } from '../e2e/harness.ts';

export interface AssessmentInterval {
  instance: string;
  patientId: string;
  start: number;
  end: number;
  /** `write`: its transaction was answered; `killed`: the instance died before writing. */
  ended: 'write' | 'killed';
}

export interface RecordingProxy {
  /** The proxy's FHIR base (what the adapter gets as FHIR_BASE_URL). */
  readonly baseUrl: string;
  close(): Promise<void>;
}

export interface ProxyOptions {
  /** Who sent a request: fixed per proxy, or read when the request arrives (a restarted adapter's generation). */
  label: string | (() => string);
  /** Hold each context read this long before passing it on (widens the window a double assessment shows in). */
  readDelayMs?: number;
}

const HOP_BY_HOP = new Set([
  'host',
  'connection',
  'keep-alive',
  'content-length',
  'transfer-encoding',
  'accept-encoding',
  'content-encoding',
]);

function forwardable(headers: IncomingHttpHeaders | Headers): Record<string, string> {
  const out: Record<string, string> = {};
  const entries = headers instanceof Headers ? [...headers] : Object.entries(headers);
  for (const [name, value] of entries) {
    if (value === undefined || HOP_BY_HOP.has(name.toLowerCase())) continue;
    out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

/** Answers the adapter unless it has gone (killed while the proxy was still talking to the server). */
function reply(res: ServerResponse, status: number, headers: Record<string, string>, body: string): void {
  if (res.destroyed || res.headersSent) return;
  try {
    res.writeHead(status, headers).end(body);
  } catch {
    res.destroy();
  }
}

export class AssessmentRecorder {
  readonly intervals: AssessmentInterval[] = [];
  /** Patterns that cannot happen with one assessment per patient at a time (a second read before the write...). */
  readonly anomalies: string[] = [];
  readonly reads: { instance: string; patientId: string; at: number }[] = [];
  private readonly open = new Map<string, { instance: string; patientId: string; start: number }>();
  private readonly writing = new Set<string>();
  private readonly upstreamBase: string;
  private readonly servers: Server[] = [];

  /** @param upstreamBase - the sandbox's FHIR base, e.g. http://127.0.0.1:PORT/fhir/R4 */
  constructor(upstreamBase: string) {
    this.upstreamBase = upstreamBase.replace(/\/+$/, '');
  }

  /** Starts a proxy in front of the upstream FHIR base. */
  async proxy(options: ProxyOptions): Promise<RecordingProxy> {
    const upstream = new URL(this.upstreamBase);
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const instance = typeof options.label === 'string' ? options.label : options.label();
        this.forward(instance, proxyOrigin, upstream.origin, req.method ?? 'GET', req.url ?? '/', req.headers, chunks, {
          readDelayMs: options.readDelayMs ?? 0,
        }).then(
          ({ status, headers, body }) => reply(res, status, headers, body),
          () => reply(res, 502, {}, ''),
        );
      });
    });
    this.servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const proxyOrigin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return {
      baseUrl: `${proxyOrigin}${upstream.pathname}`,
      close: async () => {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      },
    };
  }

  private async forward(
    instance: string,
    proxyOrigin: string,
    upstreamOrigin: string,
    method: string,
    path: string,
    headers: IncomingHttpHeaders,
    chunks: Buffer[],
    options: { readDelayMs: number },
  ): Promise<{ status: number; headers: Record<string, string>; body: string }> {
    const requestBody = chunks.length
      ? Buffer.concat(chunks).toString('utf8').replaceAll(proxyOrigin, upstreamOrigin)
      : undefined;
    const url = `${upstreamOrigin}${path}`;
    const about =
      requestBody === undefined ? undefined : patientRequest(url, this.upstreamBase, { method, body: requestBody });
    const key = about ? `${instance}|${about.patientId}` : '';
    if (about?.kind === 'read') {
      if (this.open.has(key)) this.anomalies.push(`${instance} read ${about.patientId} again before writing it`);
      const start = performance.now();
      this.open.set(key, { instance, patientId: about.patientId, start });
      this.reads.push({ instance, patientId: about.patientId, at: start });
      if (options.readDelayMs) await new Promise((r) => setTimeout(r, options.readDelayMs));
    } else if (about?.kind === 'write') {
      if (!this.open.has(key)) this.anomalies.push(`${instance} wrote ${about.patientId} without reading it`);
      this.writing.add(key);
    }
    const response = await fetch(url, {
      method,
      headers: forwardable(headers),
      ...(requestBody === undefined ? {} : { body: requestBody }),
    });
    const body = (await response.text()).replaceAll(upstreamOrigin, proxyOrigin);
    if (about?.kind === 'write') {
      const opened = this.open.get(key);
      this.writing.delete(key);
      this.open.delete(key);
      if (opened) this.intervals.push({ ...opened, end: performance.now(), ended: 'write' });
    }
    const out = forwardable(response.headers);
    for (const name of ['location', 'content-location']) {
      if (out[name]) out[name] = out[name].replaceAll(upstreamOrigin, proxyOrigin);
    }
    return { status: response.status, headers: out, body };
  }

  /**
   * The instance died at `at`: its open reads (without a write under way) end there. Returns the patients it was
   * assessing: their jobs are orphaned in the queue.
   */
  killed(instance: string, at: number): string[] {
    const orphaned: string[] = [];
    for (const [key, opened] of this.open) {
      if (opened.instance !== instance || this.writing.has(key)) continue;
      this.intervals.push({ ...opened, end: at, ended: 'killed' });
      this.open.delete(key);
      orphaned.push(opened.patientId);
    }
    return orphaned;
  }

  /** Reads of this instance still waiting for their write. */
  openReads(instance?: string): { instance: string; patientId: string; start: number }[] {
    return [...this.open.values()].filter((o) => instance === undefined || o.instance === instance);
  }

  /** Every pair of one patient's intervals that overlap, described. */
  overlaps(): string[] {
    const byPatient = new Map<string, AssessmentInterval[]>();
    for (const i of this.intervals) byPatient.set(i.patientId, [...(byPatient.get(i.patientId) ?? []), i]);
    const found: string[] = [];
    for (const [patientId, list] of byPatient) {
      const sorted = [...list].sort((a, b) => a.start - b.start);
      let latest: AssessmentInterval | undefined;
      for (const interval of sorted) {
        if (latest && interval.start < latest.end) {
          found.push(
            `${patientId}: ${latest.instance} [${latest.start.toFixed(0)}, ${latest.end.toFixed(0)}] and ` +
              `${interval.instance} [${interval.start.toFixed(0)}, ${interval.end.toFixed(0)}]`,
          );
        }
        if (!latest || interval.end > latest.end) latest = interval;
      }
    }
    return found;
  }

  async close(): Promise<void> {
    for (const server of this.servers.splice(0)) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }
}
