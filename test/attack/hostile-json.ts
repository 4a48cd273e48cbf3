/**
 * Hostile JSON for the attack tests: values JSON.stringify cannot write (1e999, -0, integers past 2^53 as typed),
 * objects with prototype-pollution and duplicate keys (kept as key/value lists, so `__proto__` stays a plain key),
 * unicode that breaks naive code (lone surrogates, RTL overrides, NUL, emoji), long strings, and nesting far deeper
 * than any parser should follow. Everything is turned into JSON text by {@link toJsonText}.
 */
import fc from 'fast-check';

const RAW = Symbol('raw JSON token');
const ENTRIES = Symbol('object as key/value pairs');

/** A JSON token written as is (e.g. `1e999`, which JSON.parse reads as Infinity). */
export interface RawToken {
  [RAW]: string;
}
/** An object as an ordered list of pairs: keys may repeat and may be `__proto__`. */
export interface Pairs {
  [ENTRIES]: [string, unknown][];
}

export const raw = (text: string): RawToken => ({ [RAW]: text });
export const pairs = (entries: [string, unknown][]): Pairs => ({ [ENTRIES]: entries });

/** The pair list with one more member (a later duplicate key wins in JSON.parse). */
export const withMember = (p: Pairs, key: string, value: unknown): Pairs => pairs([...p[ENTRIES], [key, value]]);

function isRaw(value: unknown): value is RawToken {
  return typeof value === 'object' && value !== null && RAW in value;
}
function isPairs(value: unknown): value is Pairs {
  return typeof value === 'object' && value !== null && ENTRIES in value;
}

/** JSON text of a value that may hold raw tokens and pair lists (plain objects and arrays too). */
export function toJsonText(value: unknown): string {
  if (isRaw(value)) return value[RAW];
  if (isPairs(value)) return `{${value[ENTRIES].map(([k, v]) => `${JSON.stringify(k)}:${toJsonText(v)}`).join(',')}}`;
  if (Array.isArray(value)) return `[${value.map(toJsonText).join(',')}]`;
  if (typeof value === 'object' && value !== null)
    return `{${Object.entries(value)
      .map(([k, v]) => `${JSON.stringify(k)}:${toJsonText(v)}`)
      .join(',')}}`;
  return JSON.stringify(value) ?? 'null';
}

export const FORBIDDEN_KEYS = ['__proto__', 'constructor', 'prototype'] as const;

/** Numbers at and past the edges of IEEE 754 and of JSON.parse, as written on the wire. */
export const hostileNumber = fc.constantFrom(
  raw('1e308'),
  raw('-1e308'),
  raw('1.7976931348623157e308'),
  raw('1e999'),
  raw('-1e999'),
  raw('-0'),
  raw('-0.0'),
  raw('9007199254740993'),
  raw('-9007199254740993'),
  raw('123456789012345678901234567890'),
  raw('1e-400'),
  raw('5e-324'),
  raw('0.1e-999999'),
  raw('1E+2'),
  0,
  -1,
  2 ** 31,
  2 ** 53 + 1,
  Number.MAX_SAFE_INTEGER,
);

/** Strings that break naive handling: lone surrogates, bidi overrides, NUL, emoji, number-like text. */
export const hostileString = fc.oneof(
  fc.constantFrom(
    '\ud800',
    '\udfff',
    'a\udc00b',
    '\u202eevil\u202c',
    '\u200f\u061c',
    '\u0000',
    'a\u0000b',
    '👩‍⚕️🧬',
    '\ufeff',
    '\u2028\u2029',
    'NaN',
    'Infinity',
    '-0',
    '1e999',
    '',
    ' ',
    '../../etc/passwd',
    'Patient/../../x',
    '%00',
    '<script>alert(1)</script>',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a log4shell probe, meant literally
    '${jndi:ldap://x}',
    "'; DROP TABLE job; --",
  ),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
);

/** A string long enough to hurt anything quadratic or echoing, but far under the body limit. */
export const longString = fc.constantFrom(10_000, 100_000, 1_000_000).map((n) => 'x'.repeat(n));

/** An object whose key is a prototype-pollution key, holding something an attacker would like to see merged. */
export const pollutionObject = fc
  .tuple(
    fc.constantFrom(...FORBIDDEN_KEYS),
    fc.constantFrom<unknown>({ polluted: true }, pairs([['isAdmin', true]]), 'x', [], null, { toString: 'pwned' }),
  )
  .map(([key, value]) => pairs([[key, value]]));

/** Any hostile leaf (pollution objects included). */
export const hostileLeaf: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: hostileNumber },
  { weight: 4, arbitrary: hostileString },
  { weight: 1, arbitrary: longString },
  { weight: 2, arbitrary: pollutionObject },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
);

/** The same without the long strings: for generators whose counterexamples must stay readable. */
export const shortHostileLeaf: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: hostileNumber },
  { weight: 4, arbitrary: hostileString },
  { weight: 2, arbitrary: pollutionObject },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
);

/** JSON text nested `depth` levels deep (over the intake's limit of 64 from 66 on) in arrays, objects or both, around `inner`. */
export function deeplyNested(depth: number, kind: 'array' | 'object' | 'mixed', inner = 'null'): string {
  if (kind === 'array') return `${'['.repeat(depth)}${inner}${']'.repeat(depth)}`;
  if (kind === 'object') return `${'{"a":'.repeat(depth)}${inner}${'}'.repeat(depth)}`;
  const half = Math.floor(depth / 2);
  return `${'[{"a":'.repeat(half)}${inner}${'}]'.repeat(half)}`;
}

export const deepNesting = fc
  .record({
    depth: fc.oneof(fc.integer({ min: 66, max: 200 }), fc.constantFrom(1_000, 10_000, 100_000)),
    kind: fc.constantFrom<'array' | 'object' | 'mixed'>('array', 'object', 'mixed'),
  })
  .map(({ depth, kind }) => deeplyNested(depth, kind));

/** True when a parsed JSON value has a forbidden key at any depth (walked without recursion). */
export function hasForbiddenKey(root: unknown): boolean {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const value = stack.pop();
    if (value === null || typeof value !== 'object') continue;
    for (const key of Object.keys(value)) {
      if ((FORBIDDEN_KEYS as readonly string[]).includes(key)) return true;
      stack.push((value as Record<string, unknown>)[key]);
    }
  }
  return false;
}

/** The deepest nesting of a parsed JSON value (0 for a scalar), walked without recursion. */
export function nestingDepth(root: unknown): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[root, 0]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop() as [unknown, number];
    if (value === null || typeof value !== 'object') continue;
    deepest = Math.max(deepest, depth + 1);
    for (const child of Object.values(value)) stack.push([child, depth + 1]);
  }
  return deepest;
}

/** The own property names of the built-in prototypes, to compare before and after a run. */
export function prototypeSnapshot(): Record<string, string[]> {
  const names = (o: object) => Reflect.ownKeys(o).map(String).sort();
  return {
    Object: names(Object.prototype),
    Array: names(Array.prototype),
    Function: names(Function.prototype),
    String: names(String.prototype),
  };
}

/** Properties an attacker's `__proto__` payloads would make appear on every object. */
export function pollutionSeen(): string[] {
  const probe = {} as Record<string, unknown>;
  return ['polluted', 'isAdmin'].filter((k) => probe[k] !== undefined);
}
