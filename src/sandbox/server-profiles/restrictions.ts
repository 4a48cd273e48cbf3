/**
 * The one middleware that applies a server profile, in front of the sandbox's memory router: every request (and
 * every entry of a batch or transaction) is classified, checked against the profile's table, and refused the way the
 * imitated server refuses it. What the profile offers goes on to the router unchanged. POST /sandbox/load does not
 * come through here: it loads data as the hospital's own systems would, whatever the profile restricts.
 */
import type { Bundle } from '@medplum/fhirtypes';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { type ClassifiedRequest, classifyRequest } from './classify-request.ts';
import {
  offersOperation,
  type Refusal,
  ruleFor,
  type ServerProfile,
  type SystemInteraction,
  type TypeInteraction,
} from './profile-model.ts';

const SYSTEM_INTERACTIONS: ReadonlySet<string> = new Set(['transaction', 'batch', 'search-system', 'history-system']);

/** The version of a resource now (undefined when it does not exist or is deleted). */
export type CurrentVersion = (resourceType: string, id: string) => string | undefined;

/**
 * What a profile refuses of a classified request.
 * @param profile - The profile.
 * @param request - The classified request.
 * @param currentVersion - The store's current versions (for If-Match on a versioned update).
 * @returns The refusal, or undefined when the profile offers it.
 */
export function refusalOf(
  profile: ServerProfile,
  request: ClassifiedRequest,
  currentVersion: CurrentVersion,
): Refusal | undefined {
  const { interaction, resourceType } = request;
  if (interaction === 'capabilities' || interaction === 'other') return undefined;
  if (interaction === 'operation') {
    const operation = request.operation ?? '';
    if (resourceType && !ruleFor(profile, resourceType)) return typeRefusal(profile, resourceType);
    return offersOperation(profile, operation, resourceType)
      ? undefined
      : { kind: 'operation', resourceType, operation };
  }
  if (SYSTEM_INTERACTIONS.has(interaction)) {
    return profile.system.includes(interaction as SystemInteraction) ? undefined : { kind: 'interaction', interaction };
  }
  if (!resourceType) return undefined;
  const rule = ruleFor(profile, resourceType);
  if (!rule) return typeRefusal(profile, resourceType);
  if (!rule.interactions.includes(interaction as TypeInteraction))
    return { kind: 'interaction', resourceType, interaction };
  if (request.conditional) {
    const offered =
      request.conditional === 'create'
        ? rule.conditionalCreate
        : request.conditional === 'delete'
          ? rule.conditionalDelete
          : rule.conditionalUpdate;
    if (!offered) return { kind: 'conditional', resourceType, interaction: request.conditional };
  }
  if (rule.searchParams !== 'all') {
    const offered = rule.searchParams;
    const param = request.searchParams.find((p) => !offered.includes(p));
    if (param) return { kind: 'search-param', resourceType, param, offered };
  }
  if (request.ifMatch && request.id && rule.versioning === 'versioned-update') {
    const current = currentVersion(resourceType, request.id);
    if (current !== undefined && current !== request.ifMatch) {
      return { kind: 'version-conflict', resourceType, id: request.id };
    }
  }
  return undefined;
}

function typeRefusal(profile: ServerProfile, resourceType: string): Refusal {
  return { kind: 'type', resourceType, offered: Object.keys(profile.resources ?? {}).sort() };
}

/** The classified entries of a batch or transaction Bundle, with their index. */
function bundleEntries(bundle: Bundle): { index: number; request: ClassifiedRequest }[] {
  return (bundle.entry ?? []).flatMap((entry, index) => {
    const r = entry.request;
    if (!r?.method || !r.url) return [];
    const [path = '', query = ''] = r.url.replace(/^\/+/, '').split('?', 2);
    const request = classifyRequest(r.method.toUpperCase(), `/${path}`, new URLSearchParams(query), {
      ifNoneExist: r.ifNoneExist,
      ifMatch: r.ifMatch,
    });
    return [{ index, request }];
  });
}

/** The query a request searches with: its URL's, and for `POST _search` the form body's too. */
function queryOf(req: Request): URLSearchParams {
  const query = new URLSearchParams(req.url.split('?', 2)[1] ?? '');
  if (req.method === 'POST' && req.path.endsWith('/_search') && req.body && typeof req.body === 'object') {
    for (const [key, value] of Object.entries(req.body as Record<string, unknown>)) {
      for (const v of Array.isArray(value) ? value : [value]) query.append(key, String(v));
    }
  }
  return query;
}

/**
 * The middleware applying a profile. Mount it after the body parsers and before the routes (metadata included).
 * @param profile - The profile.
 * @param currentVersion - The store's current versions.
 * @returns The middleware.
 */
export function profileRestrictions(profile: ServerProfile, currentVersion: CurrentVersion): RequestHandler {
  return (req: Request, res: Response, next: NextFunction): void => {
    const method = req.method.toUpperCase();
    const body = req.body as { resourceType?: string; type?: string } | undefined;
    const bundleType = body?.resourceType === 'Bundle' ? body.type : undefined;
    const request = classifyRequest(
      method,
      req.path,
      queryOf(req),
      { ifNoneExist: req.get('if-none-exist'), ifMatch: req.get('if-match') },
      bundleType,
    );
    let refusal = refusalOf(profile, request, currentVersion);
    let expression: string | undefined;
    if (!refusal && (request.interaction === 'batch' || request.interaction === 'transaction')) {
      for (const entry of bundleEntries(req.body as Bundle)) {
        refusal = refusalOf(profile, entry.request, currentVersion);
        if (refusal) {
          expression = `Bundle.entry[${entry.index}]`;
          break;
        }
      }
    }
    if (!refusal) {
      next();
      return;
    }
    const answer = profile.refuse(refusal);
    const outcome = expression
      ? { ...answer.outcome, issue: answer.outcome.issue.map((i) => ({ ...i, expression: [expression] })) }
      : answer.outcome;
    res.status(answer.status).type('application/fhir+json').send(JSON.stringify(outcome));
  };
}
