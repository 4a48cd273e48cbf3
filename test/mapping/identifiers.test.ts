/**
 * The identifiers the adapter writes never change between versions (a changed fullUrl or digest would write a
 * second copy of a result): values pinned from the createHash implementation the one-shot hash() replaced.
 */
import { describe, expect, it } from 'vitest';
import { digest, uuidFrom } from '../../src/mapping/identifiers.ts';

describe('identifiers', () => {
  it('uuidFrom gives the same v5-layout UUIDs as before', () => {
    expect(uuidFrom('x0')).toBe('6b83e91b-b936-5f3d-9fa2-575f7a97bb71');
    expect(uuidFrom('x1')).toBe('987d6542-14c5-5e40-89de-40b048b9cb23');
    expect(uuidFrom('x2')).toBe('8fd2c947-377b-537d-b46b-fd4a9336fc54');
    expect(uuidFrom('x4999')).toBe('7cf74da3-45f3-53bf-812f-0e47ce1636e9');
  });

  it('uuidFrom sets the version and variant of every UUID', () => {
    for (let i = 0; i < 200; i++)
      expect(uuidFrom(`p${i}`)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('digest gives the same content digests as before', () => {
    expect(digest({ a: 0 })).toBe('45b619e97b5d9b029af4522e9ffb02fa');
    expect(digest({ a: 1 })).toBe('015abd7f5cc57a2dd94b7590f04ad808');
    expect(digest({ a: 4999 })).toBe('e344e20aaa8792fc16de54f2d3377c0d');
  });
});
