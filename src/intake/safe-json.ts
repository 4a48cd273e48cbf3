/**
 * Turns request bytes into a JSON value without trusting them: strict UTF-8, JSON.parse (which only ever creates own
 * data properties), then one iterative walk (no recursion, so deep nesting cannot overflow the stack) that refuses
 * prototype-pollution keys and nesting deeper than any FHIR resource needs.
 */
import { badRequest } from '../fhir-model/outcomes.ts';

/** Deeper than any notification we accept (a contained resource inside a Bundle entry is about 15 levels). */
export const MAX_JSON_DEPTH = 64;
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** Decodes strict UTF-8 (a leading BOM is dropped); throws 400 on invalid bytes. */
export function decodeUtf8(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw badRequest('Request body is not valid UTF-8');
  }
}

/** Parses JSON text; throws a 400 OutcomeError for malformed JSON, forbidden keys or excessive depth. */
export function parseJsonSafely(text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw badRequest('Malformed JSON');
  }
  assertSafeJson(value);
  return value;
}

interface Frame {
  value: unknown;
  depth: number;
  key: string;
  parent: Frame | undefined;
}

/** The dot path of a frame, built only when reporting (long keys shortened, so nothing large is echoed). */
function pathOf(frame: Frame): string {
  const keys: string[] = [];
  for (let f: Frame | undefined = frame; f?.parent; f = f.parent)
    keys.push(f.key.length > 64 ? `${f.key.slice(0, 64)}…` : f.key);
  return keys.length ? keys.reverse().join('.') : '(root)';
}

/** Walks a parsed JSON value iteratively; throws 400 with the path of the first forbidden key or too-deep node. */
export function assertSafeJson(root: unknown): void {
  const stack: Frame[] = [{ value: root, depth: 0, key: '', parent: undefined }];
  while (stack.length > 0) {
    const frame = stack.pop()!;
    const { value, depth } = frame;
    if (value === null || typeof value !== 'object') continue;
    if (depth >= MAX_JSON_DEPTH) throw badRequest('JSON nesting too deep', [pathOf(frame)]);
    for (const key of Object.keys(value)) {
      const child: Frame = { value: (value as Record<string, unknown>)[key], depth: depth + 1, key, parent: frame };
      if (FORBIDDEN_KEYS.has(key)) throw badRequest('Forbidden property name', [pathOf(child)]);
      stack.push(child);
    }
  }
}
