/**
 * The operator API (`/admin`), what `irecist-adapter replay` talks to while the service runs (a PGlite data directory
 * can be open in one process only, and a running service's queue is the one to act on):
 *
 *   GET  /admin/dead-letters[?kind=K&limit=N]   the dead letters waiting for replay (ids, kinds, attempts, payload ids)
 *   POST /admin/replay {kind?, patientId?, ids?} re-queues them; answers {"replayed": n}
 *   GET  /admin/queue                            queued / active / dead-lettered counts
 *
 * Off unless ADMIN_TOKEN is set (the router is not mounted). Every request needs `Authorization: Bearer <ADMIN_TOKEN>`
 * (401 otherwise, compared in constant time) and comes from a loopback peer unless ADMIN_REMOTE is set (403), whatever
 * interface the service listens on. Answers are JSON; refusals FHIR OperationOutcomes. Ids and counts only, no
 * patient data: what dead letters carry is job payloads (patient or resource ids, a catch-up's reason).
 */
import express, { type RequestHandler } from 'express';
import { z } from 'zod';
import { OutcomeError, outcome, unauthorized, zodIssuesToOutcome } from '../fhir-model/outcomes.ts';
import { logger } from '../logging.ts';
import type { JobQueue } from '../queue/job-queue.ts';
import { JOB_KINDS } from '../queue/jobs.ts';
import { createErrorHandler } from '../server/error-handler.ts';
import { constantTimeEqual } from '../util/constant-time.ts';

export interface AdminRouterDeps {
  /** ADMIN_TOKEN. */
  token: string;
  /** ADMIN_REMOTE: answer non-loopback peers too. */
  remote: boolean;
  queue: Pick<JobQueue, 'listDeadLetters' | 'replayDeadLetters' | 'stats'>;
}

export const ADMIN_TEXT = {
  unauthenticated: 'Admin API: a valid bearer token (ADMIN_TOKEN) is required',
  notLoopback: 'Admin API answers loopback clients only (set ADMIN_REMOTE=true to allow others)',
} as const;

const log = logger.child({ component: 'admin' });

/** 127.0.0.0/8 and ::1, also as IPv4-mapped IPv6. */
export function isLoopbackPeer(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return v4.startsWith('127.') || address === '::1';
}

const ListQuery = z.strictObject({
  kind: z.enum(JOB_KINDS).optional(),
  limit: z.coerce.number().int().min(1).max(10_000).optional(),
});
const ReplayBody = z.strictObject({
  kind: z.enum(JOB_KINDS).optional(),
  patientId: z.string().min(1).max(64).optional(),
  ids: z.array(z.string().min(1).max(64)).max(10_000).optional(),
});

function parsed<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  throw new OutcomeError(zodIssuesToOutcome(result.error.issues.slice(0, 20), 'Invalid admin request'));
}

/**
 * The admin router; mount it at `/admin`.
 * @param deps - The token, whether remote peers may use it, the queue.
 * @returns The router.
 */
export function createAdminRouter(deps: AdminRouterDeps): express.Router {
  const router = express.Router();
  const guard: RequestHandler = (req, _res, next) => {
    if (!deps.remote && !isLoopbackPeer(req.socket.remoteAddress)) {
      throw new OutcomeError(outcome('forbidden', ADMIN_TEXT.notLoopback), 403);
    }
    const bearer = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(req.headers.authorization ?? '')?.[1];
    if (bearer === undefined || !constantTimeEqual(bearer, deps.token)) throw unauthorized(ADMIN_TEXT.unauthenticated);
    next();
  };
  router.use(guard);
  router.use(express.json({ limit: '1mb' }));

  router.get('/dead-letters', async (req, res) => {
    const query = parsed(ListQuery, req.query);
    const letters = await deps.queue.listDeadLetters(query);
    res.json(
      letters.map(({ id, kind, attempts, deadLetteredAt, payload }) => ({
        id,
        kind,
        attempts,
        deadLetteredAt,
        payload,
      })),
    );
  });
  router.post('/replay', async (req, res) => {
    const body = parsed(ReplayBody, req.body);
    const replayed = await deps.queue.replayDeadLetters(body);
    log.info({ replayed, kind: body.kind }, 'admin: dead letters replayed');
    res.json({ replayed });
  });
  router.get('/queue', async (_req, res) => {
    res.json(await deps.queue.stats());
  });
  router.use(createErrorHandler({ message: 'admin request failed' }));
  return router;
}
