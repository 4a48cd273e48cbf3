/**
 * A small FHIR R4 server for tests, on a real loopback port: resources in a Map, the searches registration and
 * polling use (_tag, _lastUpdated gt/ge/lt/le, code token OR lists, url, _elements, _count with next links,
 * _sort=_lastUpdated), create, update, conditional update, delete. Optionally activates `requested`
 * Subscriptions the way HAPI does.
 */
import type { AddressInfo } from 'node:net';
import { MedplumClient } from '@medplum/core';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import express, { type Response } from 'express';

type AnyResource = Resource & { [key: string]: unknown };

export interface FakeFhirServerOptions {
  /** Move `requested` Subscriptions to `active` on write (HAPI behaviour). Default false. */
  activateRequested?: boolean;
  /** Answer conditional update with 400 (a server without it). Default true = supported. */
  conditionalUpdate?: boolean;
  /** Page size when `_count` is absent. Default 50. */
  defaultCount?: number;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: string;
}

export interface FakeFhirServer {
  baseUrl: string;
  fhirBase: string;
  resources: Map<string, AnyResource>;
  requests: RecordedRequest[];
  /** The instant given to the next write (default: the real clock). */
  clock: () => string;
  options: FakeFhirServerOptions;
  /** Puts a resource in place as if written at `lastUpdated` (no request recorded). */
  seed<T extends Resource>(resource: T, lastUpdated?: string): T;
  client(): MedplumClient;
  close(): Promise<void>;
}

const outcome = (code: string, text: string) => ({
  resourceType: 'OperationOutcome',
  issue: [{ severity: 'error', code, details: { text } }],
});

function tokenMatches(codings: { system?: string; code?: string }[], value: string): boolean {
  return value.split(',').some((v) => {
    const bar = v.indexOf('|');
    if (bar < 0) return codings.some((c) => c.code === v);
    const system = v.slice(0, bar);
    const code = v.slice(bar + 1);
    return codings.some((c) => (system === '' || c.system === system) && (code === '' || c.code === code));
  });
}

function dateMatches(value: string | undefined, expr: string): boolean {
  if (!value) return false;
  const prefix = /^(gt|ge|lt|le|eq)/.exec(expr)?.[1] ?? 'eq';
  const bound = Date.parse(prefix === 'eq' && !expr.startsWith('eq') ? expr : expr.slice(2));
  const v = Date.parse(value);
  switch (prefix) {
    case 'gt':
      return v > bound;
    case 'ge':
      return v >= bound;
    case 'lt':
      return v < bound;
    case 'le':
      return v <= bound;
    default:
      return v === bound;
  }
}

function codingsOf(r: AnyResource): { system?: string; code?: string }[] {
  const code = r.code as { coding?: { system?: string; code?: string }[] } | undefined;
  return code?.coding ?? [];
}

export async function startFakeFhirServer(options: FakeFhirServerOptions = {}): Promise<FakeFhirServer> {
  const resources = new Map<string, AnyResource>();
  const requests: RecordedRequest[] = [];
  let nextId = 1;
  const app = express();
  app.use(express.json({ type: ['application/json', 'application/fhir+json'], limit: '5mb' }));

  const server: FakeFhirServer = {
    baseUrl: '',
    fhirBase: '',
    resources,
    requests,
    clock: () => new Date().toISOString(),
    options,
    seed(resource, lastUpdated) {
      const id = resource.id ?? `s${nextId++}`;
      const stored = {
        ...resource,
        id,
        meta: { ...resource.meta, versionId: '1', lastUpdated: lastUpdated ?? server.clock() },
      } as AnyResource;
      resources.set(`${resource.resourceType}/${id}`, stored);
      return stored as unknown as typeof resource;
    },
    client() {
      return new MedplumClient({
        baseUrl: server.baseUrl,
        fhirUrlPath: 'fhir/R4',
        fetch: (url: string, init?: RequestInit) => fetch(url, init),
        cacheTime: 0,
        maxRetries: 0,
      });
    },
    close: async () => undefined,
  };

  const write = (type: string, id: string, body: AnyResource, res: Response, created: boolean): void => {
    const key = `${type}/${id}`;
    const prev = resources.get(key);
    const version = prev ? Number(prev.meta?.versionId ?? '0') + 1 : 1;
    const stored: AnyResource = {
      ...body,
      resourceType: type as Resource['resourceType'],
      id,
      meta: { ...body.meta, versionId: String(version), lastUpdated: server.clock() },
    } as AnyResource;
    if (options.activateRequested && type === 'Subscription' && stored.status === 'requested') {
      stored.status = 'active';
    }
    resources.set(key, stored);
    res
      .status(created ? 201 : 200)
      .location(`${server.fhirBase}/${key}/_history/${version}`)
      .type('application/fhir+json')
      .send(JSON.stringify(stored));
  };

  const search = (type: string, query: URLSearchParams): AnyResource[] => {
    let list = [...resources.values()].filter((r) => r.resourceType === type);
    for (const [name, value] of query.entries()) {
      if (name === '_tag') list = list.filter((r) => tokenMatches(r.meta?.tag ?? [], value));
      else if (name === '_lastUpdated') list = list.filter((r) => dateMatches(r.meta?.lastUpdated, value));
      else if (name === 'code') list = list.filter((r) => tokenMatches(codingsOf(r), value));
      else if (name === 'url') list = list.filter((r) => r.url === value);
      else if (name === 'status') list = list.filter((r) => r.status === value);
    }
    return list.sort(
      (a, b) =>
        Date.parse(a.meta?.lastUpdated ?? '') - Date.parse(b.meta?.lastUpdated ?? '') ||
        String(a.id).localeCompare(String(b.id)),
    );
  };

  const trim = (r: AnyResource, elements: string | null): AnyResource => {
    if (!elements) return r;
    const keep = new Set(['resourceType', 'id', 'meta', ...elements.split(',')]);
    return Object.fromEntries(Object.entries(r).filter(([k]) => keep.has(k))) as AnyResource;
  };

  app.use((req, _res, next) => {
    const q = req.originalUrl.indexOf('?');
    requests.push({ method: req.method, path: req.path, query: q >= 0 ? req.originalUrl.slice(q + 1) : '' });
    next();
  });

  const router = express.Router();

  router.get('/:type', (req, res) => {
    const query = new URL(req.originalUrl, server.baseUrl).searchParams;
    const all = search(req.params.type, query);
    const count = Number(query.get('_count') ?? options.defaultCount ?? 50);
    const offset = Number(query.get('_offset') ?? 0);
    const page = all.slice(offset, offset + count);
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'searchset',
      total: all.length,
      link: [{ relation: 'self', url: `${server.fhirBase}/${req.params.type}?${query}` }],
      entry: page.map((r) => ({
        fullUrl: `${server.fhirBase}/${r.resourceType}/${r.id}`,
        resource: trim(r, query.get('_elements')) as Resource,
        search: { mode: 'match' },
      })),
    };
    if (offset + count < all.length) {
      const next = new URLSearchParams(query);
      next.set('_offset', String(offset + count));
      next.set('_count', String(count));
      bundle.link?.push({ relation: 'next', url: `${server.fhirBase}/${req.params.type}?${next}` });
    }
    res.type('application/fhir+json').send(JSON.stringify(bundle));
  });

  router.get('/:type/:id', (req, res) => {
    const r = resources.get(`${req.params.type}/${req.params.id}`);
    if (!r) {
      res
        .status(404)
        .type('application/fhir+json')
        .send(JSON.stringify(outcome('not-found', 'Not found')));
      return;
    }
    res.type('application/fhir+json').send(JSON.stringify(r));
  });

  router.post('/:type', (req, res) => {
    write(req.params.type, `f${nextId++}`, req.body as AnyResource, res, true);
  });

  router.put('/:type', (req, res) => {
    if (options.conditionalUpdate === false) {
      res
        .status(400)
        .type('application/fhir+json')
        .send(JSON.stringify(outcome('not-supported', 'Conditional update is not supported')));
      return;
    }
    const query = new URL(req.originalUrl, server.baseUrl).searchParams;
    const matches = search(req.params.type, query);
    if (matches.length > 1) {
      res
        .status(412)
        .type('application/fhir+json')
        .send(JSON.stringify(outcome('duplicate', 'Multiple matches')));
      return;
    }
    const id = matches[0]?.id ?? `f${nextId++}`;
    write(req.params.type, id, req.body as AnyResource, res, matches.length === 0);
  });

  router.put('/:type/:id', (req, res) => {
    const created = !resources.has(`${req.params.type}/${req.params.id}`);
    write(req.params.type, req.params.id, req.body as AnyResource, res, created);
  });

  router.delete('/:type/:id', (req, res) => {
    resources.delete(`${req.params.type}/${req.params.id}`);
    res.status(204).end();
  });

  app.use('/fhir/R4', router);

  const http = await new Promise<import('node:http').Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const { port } = http.address() as AddressInfo;
  server.baseUrl = `http://127.0.0.1:${port}/`;
  server.fhirBase = `http://127.0.0.1:${port}/fhir/R4`;
  server.close = () =>
    new Promise<void>((resolve, reject) => {
      http.closeAllConnections();
      http.close((err) => (err ? reject(err) : resolve()));
    });
  return server;
}

/** Writes (POST/PUT/DELETE) recorded since `from`. */
export function writesSince(server: FakeFhirServer, from: number): RecordedRequest[] {
  return server.requests.slice(from).filter((r) => r.method !== 'GET');
}
