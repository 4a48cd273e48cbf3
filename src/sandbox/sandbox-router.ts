/**
 * The sandbox's HTTP edge: an express Router (mount it at /fhir/R4) that parses FHIR JSON, runs every request
 * as one unit of work on the repository (serialised, rolled back if it fails) through @medplum/fhir-router's
 * FhirRouter, and answers FHIR JSON with the right status and headers (ETag, Last-Modified, Location).
 * Notifications of the request's writes are released once the response is out.
 * https://hl7.org/fhir/R4/http.html
 */
import { getReferenceString, getStatus, isOk } from '@medplum/core';
import type { FhirRequest, FhirResponse, FhirRouter, HttpMethod } from '@medplum/fhir-router';
import type { CapabilityStatement, OperationOutcome, Resource } from '@medplum/fhirtypes';
import type { NextFunction, Request, RequestHandler, Response, Router } from 'express';
import express from 'express';
import { badRequest, OutcomeError, outcome, unsupportedMediaType } from '../fhir-model/outcomes.ts';
import type { BodyErrorTexts } from '../fhir-model/to-operation-outcome.ts';
import type { Logger } from '../logging.ts';
import { createErrorHandler } from '../server/error-handler.ts';
import type { BulkExport } from './bulk-export.ts';
import { decorateBundleResponse, processBundle, unchangedOutcome } from './bundle-handler.ts';
import type { SandboxRepository, WriteEvent } from './memory-store.ts';
import type { SandboxRequestContext } from './request-context.ts';
import { runInRequestContext } from './request-context.ts';
import { SerialQueue } from './serial-queue.ts';
import { maskSecrets } from './subscription-exposure.ts';

export const FHIR_JSON = 'application/fhir+json';
export const DEFAULT_BODY_LIMIT = '50mb';

const JSON_TYPES = new Set([FHIR_JSON, 'application/json', 'application/json-patch+json']);
const FORM_TYPE = 'application/x-www-form-urlencoded';
const METHODS = new Set<HttpMethod>(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);
/** Request-body errors, answered without echoing the body (parse messages quote it). */
const BODY_ERROR_TEXTS: BodyErrorTexts = {
  tooLarge: 'Request body too large',
  encoding: 'Unsupported content encoding or charset',
  malformed: 'Malformed request body',
};
const SINGLE_RESOURCE_INTERACTIONS = new Set(['read', 'vread', 'create', 'update', 'patch']);

export interface SandboxRouterOptions {
  readonly repo: SandboxRepository;
  readonly fhirRouter: FhirRouter;
  readonly capabilityStatement: CapabilityStatement;
  readonly logger: Logger;
  /** Largest accepted request body (default 50 MiB). */
  readonly bodyLimit?: string | number;
  /** Bulk Data `$export`, served in front of the FHIR router. */
  readonly bulkExport?: BulkExport;
  /** The server profile's restrictions (server-profiles/restrictions.ts), run after the body is parsed. */
  readonly restrict?: RequestHandler;
  /** The queue every unit of work on the repository runs in (shared with /sandbox/load); default its own. */
  readonly queue?: SerialQueue;
}

/** Thrown inside a unit of work to roll it back while still answering the (error) response. */
class Rollback extends Error {
  readonly response: FhirResponse;
  constructor(response: FhirResponse) {
    super('rollback');
    this.response = response;
  }
}

export function createSandboxRouter(options: SandboxRouterOptions): Router {
  const { repo, fhirRouter, capabilityStatement, logger } = options;
  const limit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const queue = options.queue ?? new SerialQueue();
  const router = express.Router();

  router.use(checkContentType);
  router.use(express.json({ type: (req) => JSON_TYPES.has(mediaType(req.headers['content-type'])), limit }));
  router.use(express.urlencoded({ type: FORM_TYPE, extended: false, limit }));
  if (options.restrict) router.use(options.restrict);

  router.get('/metadata', (_req, res) => {
    sendFhir(res, 200, capabilityStatement);
  });
  if (options.bulkExport) router.use(options.bulkExport.routes((work) => queue.run(work)));

  router.use(async (req: Request, res: Response) => {
    const started = performance.now();
    const method = req.method.toUpperCase() as HttpMethod;
    if (!METHODS.has(method)) {
      throw new OutcomeError(outcome('not-supported', 'Method not allowed'), 405);
    }
    const url = req.url;
    const segments = req.path.split('/').filter(Boolean);
    const isBundlePost = method === 'POST' && segments.length === 0;
    const body = requestBody(req, method, segments);

    let markAnswered = (): void => undefined;
    const context: SandboxRequestContext = {
      events: [],
      answered: new Promise<void>((resolve) => {
        markAnswered = resolve;
      }),
    };
    res.once('close', () => markAnswered());

    const fhirRequest: FhirRequest = {
      method,
      url,
      pathname: '',
      body,
      params: {},
      query: {},
      headers: req.headers,
      config: { transactions: false },
    };
    const response = await queue.run(() =>
      runInRequestContext(context, () =>
        runUnit(repo, () =>
          isBundlePost ? processBundle(fhirRequest, repo, fhirRouter) : fhirRouter.handleRequest(fhirRequest, repo),
        ),
      ),
    );
    const interaction = isBundlePost ? 'batch' : routeInteraction(fhirRouter, method, url);
    const status = reply(req, res, response, context.events, {
      baseUrl: repo.baseUrl,
      singleResource: SINGLE_RESOURCE_INTERACTIONS.has(interaction ?? ''),
      write: method !== 'GET',
    });
    logger.debug(
      {
        method,
        resourceType: segments[0],
        interaction,
        status,
        writes: context.events.length,
        ms: Math.round(performance.now() - started),
      },
      'sandbox request',
    );
  });

  router.use(createErrorHandler({ texts: BODY_ERROR_TEXTS, logger, message: 'sandbox request failed' }));

  return router;
}

/** Runs one request as a unit of work: committed if its outcome is OK, otherwise rolled back. */
export async function runUnit(repo: SandboxRepository, work: () => Promise<FhirResponse>): Promise<FhirResponse> {
  try {
    return await repo.withTransaction(async () => {
      const response = await work();
      if (!isOk(response[0])) throw new Rollback(response);
      return response;
    });
  } catch (err) {
    if (err instanceof Rollback) return err.response;
    throw err;
  }
}

function routeInteraction(fhirRouter: FhirRouter, method: HttpMethod, url: string): string | undefined {
  try {
    return fhirRouter.find(method, url)?.data?.interaction;
  } catch {
    return undefined; // e.g. an over-long query string, already answered by FhirRouter
  }
}

function requestBody(req: Request, method: HttpMethod, segments: string[]): unknown {
  const isSearch = method === 'POST' && segments.at(-1) === '_search';
  if (isSearch) {
    const query = new URL(req.url, 'http://sandbox.invalid').searchParams;
    const merged: Record<string, string | string[]> = {};
    for (const [key, value] of query) addParam(merged, key, value);
    if (isPlainObject(req.body)) {
      for (const [key, value] of Object.entries(req.body)) {
        for (const v of Array.isArray(value) ? value : [value]) addParam(merged, key, String(v));
      }
    }
    return merged;
  }
  if (method === 'POST' || method === 'PUT') {
    if (!isPlainObject(req.body) || typeof req.body.resourceType !== 'string') {
      throw badRequest('Request body must be a FHIR resource');
    }
  }
  if (method === 'PATCH' && !Array.isArray(req.body) && !isPlainObject(req.body)) {
    throw badRequest('Request body must be a JSON Patch or a FHIRPath Patch Parameters resource');
  }
  return req.body;
}

interface ReplyOptions {
  readonly baseUrl: string;
  readonly singleResource: boolean;
  readonly write: boolean;
}

/** Sends the FHIR response; returns the status. */
function reply(
  req: Request,
  res: Response,
  response: FhirResponse,
  events: readonly WriteEvent[],
  options: ReplyOptions,
): number {
  const [resultOutcome, resource] = response;
  let status = getStatus(resultOutcome);
  let body: Resource | undefined = resource ?? resultOutcome;

  if (
    resource?.resourceType === 'Bundle' &&
    (resource.type === 'batch-response' || resource.type === 'transaction-response')
  ) {
    decorateBundleResponse(resource, events, options.baseUrl);
  }

  let unchanged = false;
  if (resource && options.singleResource && resource.id) {
    const ref = getReferenceString(resource) as string;
    const mine = events.filter((e) => `${e.resource.resourceType}/${e.resource.id}` === ref);
    unchanged = mine.length > 0 && mine.every((e) => e.interaction === 'unchanged');
    // Update-as-create answers 201 (FhirRouter says 200 for every PUT).
    if (status === 200 && req.method === 'PUT' && mine.some((e) => e.interaction === 'create')) status = 201;
    const versionId = resource.meta?.versionId;
    if (versionId) {
      res.setHeader('ETag', `W/"${versionId}"`);
      if (resource.meta?.lastUpdated) res.setHeader('Last-Modified', new Date(resource.meta.lastUpdated).toUTCString());
      if (status === 201) res.setHeader('Location', `${options.baseUrl}/${ref}/_history/${versionId}`);
    }
  }

  if (options.write && status < 300) {
    const prefer = preferReturn(req.headers.prefer);
    if (prefer === 'minimal') body = undefined;
    else if (prefer === 'OperationOutcome') body = unchanged ? unchangedOutcome() : informational(resultOutcome);
  }
  sendFhir(res, status, body);
  return status;
}

function sendFhir(res: Response, status: number, body: Resource | undefined): void {
  res.status(status);
  if (body === undefined) {
    res.end();
    return;
  }
  res.setHeader('Content-Type', `${FHIR_JSON}; charset=utf-8`);
  // A reader never gets a Subscription's secret (subscription-exposure.ts).
  res.send(JSON.stringify(maskSecrets(body)));
}

/** 415 for a body that is neither FHIR JSON nor JSON (or JSON Patch for PATCH, a form for POST _search). */
function checkContentType(req: Request, _res: Response, next: NextFunction): void {
  if (!['POST', 'PUT', 'PATCH'].includes(req.method) || !hasBody(req)) {
    next();
    return;
  }
  const type = mediaType(req.headers['content-type']);
  const ok =
    type === FHIR_JSON ||
    type === 'application/json' ||
    (type === 'application/json-patch+json' && req.method === 'PATCH') ||
    (type === FORM_TYPE && req.method === 'POST' && req.path.endsWith('/_search'));
  next(ok ? undefined : unsupportedMediaType('Content-Type must be application/fhir+json or application/json'));
}

function hasBody(req: Request): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

function preferReturn(
  prefer: string | string[] | undefined,
): 'minimal' | 'representation' | 'OperationOutcome' | undefined {
  const header = Array.isArray(prefer) ? prefer.join(',') : (prefer ?? '');
  const match = /return=(minimal|representation|OperationOutcome)/i.exec(header);
  const value = match?.[1]?.toLowerCase();
  if (value === 'minimal') return 'minimal';
  if (value === 'operationoutcome') return 'OperationOutcome';
  if (value === 'representation') return 'representation';
  return undefined;
}

function informational(result: OperationOutcome): OperationOutcome {
  return result.issue?.length ? result : outcome('informational', 'All OK', { severity: 'information' });
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function addParam(target: Record<string, string | string[]>, key: string, value: string): void {
  const existing = target[key];
  if (existing === undefined) target[key] = value;
  else if (Array.isArray(existing)) existing.push(value);
  else target[key] = [existing, value];
}
