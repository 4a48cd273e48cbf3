/** Loads test/fixtures/notifications/*.json (format in that folder's README.md). */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JobIntent } from '../../src/intake/jobs.ts';
import type { NotificationShape } from '../../src/intake/parse-notification.ts';

export const FIXTURE_DIR = join(import.meta.dirname, '..', 'fixtures', 'notifications');

export interface NotificationFixture {
  name: string;
  description: string;
  source: string;
  /** Last seen event number per subscription id before the request. */
  tracker?: Record<string, number>;
  request: {
    method: 'POST' | 'PUT' | 'DELETE';
    path: string;
    headers: Record<string, string>;
    /** A JSON body (sent as JSON.stringify(body)) ... */
    body?: unknown;
    /** ... or the exact body text. */
    rawBody?: string;
  };
  expect: {
    status: number;
    shape: NotificationShape;
    text: string;
    jobs: JobIntent[];
    trackerAfter?: Record<string, number>;
  };
}

export function loadFixtures(): NotificationFixture[] {
  return readdirSync(FIXTURE_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => ({ name: f.replace(/\.json$/, ''), ...JSON.parse(readFileSync(join(FIXTURE_DIR, f), 'utf8')) }));
}

export function fixtureBody(fixture: NotificationFixture): Buffer {
  const { body, rawBody } = fixture.request;
  return Buffer.from(rawBody ?? (body === undefined ? '' : JSON.stringify(body)), 'utf8');
}

/** `/notifications/:type/:id` -> params. */
export function paramsOf(path: string): { type?: string; id?: string } {
  const [, , type, id] = path.split('/');
  return type === undefined ? {} : { type, id };
}
