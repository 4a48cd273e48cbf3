/**
 * The one JSON parse for text from outside (a notification, a Bundle file, an NDJSON line, a server's error body):
 * strict UTF-8, JSON.parse (which only ever creates own data properties), then one iterative walk (no recursion, so
 * deep nesting cannot overflow the stack) that refuses prototype-pollution keys and nesting deeper than any FHIR
 * resource needs. `parseJsonSafely` refuses with a 400 OutcomeError; `parseJsonOrUndefined` answers undefined.
 */
import { badRequest } from './outcomes.ts';

/** True for a JSON object (not null, not an array). */
export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

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

/**
 * Parses JSON text; throws a 400 OutcomeError for malformed JSON, forbidden keys or excessive depth.
 * @param text - The JSON text.
 * @param malformedText - What the refusal of malformed JSON says (never the parser's message: it quotes the input).
 * @returns The value.
 */
export function parseJsonSafely(text: string, malformedText = 'Malformed JSON'): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw badRequest(malformedText, undefined, err);
  }
  assertSafeJson(value);
  return value;
}

/**
 * Parses JSON text that may be anything (a server's error body, a stored value, one NDJSON line).
 * @param text - The text.
 * @returns The value, or undefined when the text is not JSON or fails the same checks as parseJsonSafely.
 */
export function parseJsonOrUndefined(text: string): unknown {
  try {
    return parseJsonSafely(text);
  } catch {
    return undefined;
  }
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
