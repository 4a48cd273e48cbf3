/**
 * What the service exposes, and to whom (safe defaults: nothing beyond loopback unless configured):
 * - HOST: the interface the HTTP server binds; 127.0.0.1 unless set (0.0.0.0 or :: for every interface, e.g. in a
 *   container behind its port mapping).
 * - ADMIN_TOKEN: the bearer token of the operator API at /admin (dead letters, replay); unset = no /admin at all.
 * - ADMIN_REMOTE: also answer /admin to non-loopback peers (default false: loopback peers only, whatever HOST is).
 * - SANDBOX_SUBSCRIPTION_ENDPOINTS: comma-separated http(s) URLs the sandbox lets a Subscription deliver to, besides
 *   the adapter's own /notifications (a URL ending in `/` allows everything under it).
 */
import { isIP } from 'node:net';

export interface ExposureSettings {
  host: string;
  admin: {
    /** Unset: the admin API is off. */
    token?: string;
    remote: boolean;
  };
  sandboxSubscriptionEndpoints: string[];
}

export const DEFAULT_HOST = '127.0.0.1';
const MIN_ADMIN_TOKEN = 16;

const isHttpUrl = (value: string): boolean => URL.canParse(value) && /^https?:$/.test(new URL(value).protocol);

/**
 * Reads the exposure settings.
 * @param raw - Reads one environment variable (trimmed, undefined when empty).
 * @param problems - Where each problem is recorded, `NAME: what is wrong` (never a secret's value).
 * @returns The settings, with their defaults.
 */
export function readExposureSettings(raw: (name: string) => string | undefined, problems: string[]): ExposureSettings {
  const host = raw('HOST') ?? DEFAULT_HOST;
  if (host !== 'localhost' && isIP(host) === 0) {
    problems.push('HOST: must be an IP address to listen on (127.0.0.1, or 0.0.0.0 / :: for every interface)');
  }
  const token = raw('ADMIN_TOKEN');
  if (token !== undefined && token.length < MIN_ADMIN_TOKEN) {
    problems.push(`ADMIN_TOKEN: must be at least ${MIN_ADMIN_TOKEN} characters`);
  } else if (token !== undefined && token === raw('WEBHOOK_SECRET')) {
    problems.push('ADMIN_TOKEN: must not be the same as WEBHOOK_SECRET (a FHIR server holds that one)');
  }
  const remote = raw('ADMIN_REMOTE');
  if (remote !== undefined && !/^(true|false|1|0|yes|no)$/i.test(remote))
    problems.push('ADMIN_REMOTE: must be true or false');
  const endpoints = (raw('SANDBOX_SUBSCRIPTION_ENDPOINTS') ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  if (endpoints.some((e) => !isHttpUrl(e))) {
    problems.push('SANDBOX_SUBSCRIPTION_ENDPOINTS: must be a comma-separated list of http(s) URLs');
  }
  return {
    host,
    admin: { token, remote: /^(true|1|yes)$/i.test(remote ?? '') },
    sandboxSubscriptionEndpoints: endpoints.filter(isHttpUrl),
  };
}
