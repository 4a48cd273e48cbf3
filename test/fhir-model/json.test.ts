import { describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH, parseJsonOrUndefined, parseJsonSafely } from '../../src/fhir-model/json.ts';

describe('parseJsonSafely', () => {
  it('accepts nesting up to the limit', () => {
    const depth = MAX_JSON_DEPTH;
    expect(() => parseJsonSafely(`${'['.repeat(depth)}${']'.repeat(depth)}`)).not.toThrow();
    expect(() => parseJsonSafely(`${'['.repeat(depth + 1)}${']'.repeat(depth + 1)}`)).toThrow('JSON nesting too deep');
  });

  it('reports forbidden keys by path without echoing long keys', () => {
    const longKey = 'k'.repeat(5000);
    try {
      parseJsonSafely(JSON.stringify({ [longKey]: { a: [{ constructor: 1 }] } }));
      expect.unreachable();
    } catch (err) {
      const expression = (err as { outcome: { issue: { expression: string[] }[] } }).outcome.issue[0]?.expression[0];
      expect(expression).toBe(`${'k'.repeat(64)}….a.0.constructor`);
    }
  });
});

describe('parseJsonOrUndefined', () => {
  it.each([
    ['{"resourceType":"OperationOutcome"}', { resourceType: 'OperationOutcome' }],
    ['not json', undefined],
    ['', undefined],
    ['{"__proto__":{"x":1}}', undefined],
  ])('%j', (text, value) => {
    expect(parseJsonOrUndefined(text)).toEqual(value);
  });
});
