/**
 * Sees the assessments from the FHIR server's side: a reverse proxy in front of the sandbox (one per adapter
 * instance, or one whose label follows the adapter's restarts) records, per patient, each batch context read (which
 * carries the searches for the adapter's earlier results too), each separate read-back of the earlier results (only
 * where the context read could not give them all, or a backfill) and each transaction write with the time
 * (patientRequest classifies them), and makes assessment intervals of them: context read -> context read answered
 * (nothing changed: no write) or -> write answered, a separate earlier-results read moving the end as a write does.
 * An instance killed before its reads were answered ends its interval at the moment it died; a write it had already
 * sent ends it when the server answers. Two intervals of one patient that overlap are two assessments at the same
 * moment; requests out of that order within one instance are anomalies.
 */
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { patientRequest } from '../e2e/harness.ts';

export interface AssessmentInterval {
  instance: string;
  patientId: string;
  start: number;
  end: number;
  /**
   * `write`: its transaction was answered; `unchanged`: its reads were answered and no write followed (nothing
   * changed); `killed`: the instance died before its reads were answered.
   */
  ended: 'write' | 'unchanged' | 'killed';
}

/**
 * Where one instance's assessment of a patient stands: reading its context (with the earlier results), its context
 * read answered, or reading its earlier results apart after that.
 */
interface OpenAssessment {
  instance: string;
  patientId: string;
  start: number;
  phase: 'context' | 'answered' | 'earlier';
  /** Its interval once the context read was answered (an earlier-results read or a write after it moves the end). */
  interval?: AssessmentInterval;
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
  /** The result writes the server answered 2xx, per patient (a no-change assessment sends none). */
  readonly writes: { instance: string; patientId: string; at: number }[] = [];
  private readonly open = new Map<string, OpenAssessment>();
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
      const before = this.open.get(key);
      // A new assessment may follow one that ended without a write; one still reading means two at once.
      if (before && before.phase !== 'answered') {
        this.anomalies.push(`${instance} read ${about.patientId} again before its earlier assessment ended`);
      }
      const start = performance.now();
      this.open.set(key, { instance, patientId: about.patientId, start, phase: 'context' });
      this.reads.push({ instance, patientId: about.patientId, at: start });
      if (options.readDelayMs) await new Promise((r) => setTimeout(r, options.readDelayMs));
    } else if (about?.kind === 'earlier') {
      // Only after the context read was answered, before a write: its earlier results read apart.
      const opened = this.open.get(key);
      if (opened?.phase !== 'answered' || this.writing.has(key)) {
        this.anomalies.push(`${instance} read ${about.patientId}'s earlier results outside an assessment`);
      } else opened.phase = 'earlier';
    } else if (about?.kind === 'write') {
      if (this.open.get(key)?.phase !== 'answered') {
        this.anomalies.push(
          `${instance} wrote ${about.patientId} before its context and earlier results were answered`,
        );
      }
      this.writing.add(key);
    }
    const response = await fetch(url, {
      method,
      headers: forwardable(headers),
      ...(requestBody === undefined ? {} : { body: requestBody }),
    });
    const body = (await response.text()).replaceAll(upstreamOrigin, proxyOrigin);
    const opened = about ? this.open.get(key) : undefined;
    if (about?.kind === 'read' && opened?.phase === 'context') {
      // The assessment may end here (nothing changed); an earlier-results read or a write that follows moves the end.
      opened.phase = 'answered';
      opened.interval = {
        instance,
        patientId: about.patientId,
        start: opened.start,
        end: performance.now(),
        ended: 'unchanged',
      };
      this.intervals.push(opened.interval);
    } else if (about?.kind === 'earlier' && opened?.phase === 'earlier' && opened.interval) {
      opened.phase = 'answered';
      opened.interval.end = performance.now();
    } else if (about?.kind === 'write') {
      this.writing.delete(key);
      if (opened?.interval) {
        opened.interval.end = performance.now();
        opened.interval.ended = 'write';
      }
      if (response.ok) this.writes.push({ instance, patientId: about.patientId, at: performance.now() });
    }
    const out = forwardable(response.headers);
    for (const name of ['location', 'content-location']) {
      if (out[name]) out[name] = out[name].replaceAll(upstreamOrigin, proxyOrigin);
    }
    return { status: response.status, headers: out, body };
  }

  /**
   * The instance died at `at`: its assessments still reading (context, or earlier results apart) end there. Returns
   * the patients it was assessing: their jobs are orphaned in the queue. (One past its context read may have been
   * about to write; its interval already ends where that read was answered, and a write it sent ends it later.)
   */
  killed(instance: string, at: number): string[] {
    const orphaned: string[] = [];
    for (const [key, opened] of this.open) {
      if (opened.instance !== instance || this.writing.has(key)) continue;
      this.open.delete(key);
      if (opened.phase === 'answered') continue;
      if (opened.interval) Object.assign(opened.interval, { end: at, ended: 'killed' });
      else
        this.intervals.push({ instance, patientId: opened.patientId, start: opened.start, end: at, ended: 'killed' });
      orphaned.push(opened.patientId);
    }
    return orphaned;
  }

  /** This instance's assessments still reading (context, or earlier results apart), or with a write under way. */
  openReads(
    instance?: string,
  ): { instance: string; patientId: string; start: number; phase: OpenAssessment['phase'] }[] {
    return [...this.open.entries()]
      .filter(
        ([key, o]) =>
          (o.phase !== 'answered' || this.writing.has(key)) && (instance === undefined || o.instance === instance),
      )
      .map(([, o]) => ({ instance: o.instance, patientId: o.patientId, start: o.start, phase: o.phase }));
  }

  /**
   * The patients among these whose results the server took in other than exactly one write (answered 2xx), with
   * how many: one assessment writes the result, every later one finds nothing to change and writes nothing.
   */
  notWrittenOnce(patientIds: readonly string[]): Record<string, number> {
    const out: Record<string, number> = {};
    for (const patientId of patientIds) {
      const count = this.writes.filter((w) => w.patientId === patientId).length;
      if (count !== 1) out[patientId] = count;
    }
    return out;
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
