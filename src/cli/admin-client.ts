/**
 * The command line's side of the operator API (src/admin/admin-router.ts): `replay` asks the running service, whose
 * queue it is, instead of opening its database. Which service: --url, else ADMIN_URL, else this machine's HOST:PORT.
 */
import { UsageError } from './command-line.ts';

/** No service answers at the URL (connection refused, or no such host). */
export class ServiceNotRunning extends Error {
  override readonly name = 'ServiceNotRunning';
}

/**
 * The admin API's base URL.
 * @param given - --url, if given.
 * @param env - The environment (ADMIN_URL, HOST, PORT).
 * @returns `http://host:port` (loopback when HOST is every interface).
 */
export function adminBaseUrl(given: string | undefined, env: NodeJS.ProcessEnv): string {
  const url = given ?? env.ADMIN_URL?.trim();
  if (url) {
    if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) {
      throw new UsageError(`${given ? '--url' : 'ADMIN_URL'} must be an http(s) URL`);
    }
    return url.replace(/\/+$/, '');
  }
  const host = env.HOST?.trim() || '127.0.0.1';
  const reachable = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return `http://${reachable}:${env.PORT?.trim() || '8080'}`;
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ECONNRESET']);

/**
 * One admin API call.
 * @param baseUrl - The service.
 * @param token - ADMIN_TOKEN.
 * @param path - e.g. `/admin/dead-letters?kind=catch-up`.
 * @param body - JSON to POST (GET without).
 * @returns The answer's JSON.
 * @throws ServiceNotRunning when nothing answers; Error with the service's refusal text otherwise.
 */
export async function adminCall(baseUrl: string, token: string, path: string, body?: unknown): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(`${baseUrl}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(60_000),
    });
  } catch (err) {
    const code = (err as { cause?: { code?: string } }).cause?.code;
    if (code && UNREACHABLE.has(code)) throw new ServiceNotRunning(`no irecist-adapter service answers at ${baseUrl}`);
    throw err;
  }
  const answer = (await response.json().catch(() => undefined)) as
    | { issue?: { details?: { text?: string } }[] }
    | undefined;
  if (response.ok) return answer;
  const text = answer?.issue?.[0]?.details?.text ?? `status ${response.status}`;
  if (response.status === 404) {
    throw new Error(`the service at ${baseUrl} has no admin API (set ADMIN_TOKEN for the service too)`);
  }
  throw new Error(`the service at ${baseUrl} refused: ${text} (${response.status})`);
}
