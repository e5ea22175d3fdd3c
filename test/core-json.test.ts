import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jsonEqual, stableStringify } from '../src/core/json.js';

describe('jsonEqual', () => {
  it('compares nested values, not identity', () => {
    expect(jsonEqual({ a: [1, { b: 'x' }], c: null }, { a: [1, { b: 'x' }], c: null })).toBe(true);
    expect(jsonEqual({ a: [1, { b: 'x' }] }, { a: [1, { b: 'y' }] })).toBe(false);
    expect(jsonEqual([1, 2], [1, 2, 3])).toBe(false);
    expect(jsonEqual({ a: 1 }, { a: 1, b: 2 })).toBe(false);
    expect(jsonEqual([1], { 0: 1 })).toBe(false);
    expect(jsonEqual(null, {})).toBe(false);
  });

  it('tells apart what a reader could: key order, 0 and −0', () => {
    expect(jsonEqual({ a: 1, b: 2 }, { b: 2, a: 1 })).toBe(false);
    expect(jsonEqual({ w: 0 }, { w: -0 })).toBe(false);
    expect(jsonEqual(Number.NaN, Number.NaN)).toBe(true);
  });
});

describe('stableStringify', () => {
  /** The straightforward definition: copy everything, keys sorted. */
  function sortedCopy(value: unknown): unknown {
    if (Array.isArray(value)) return value.map(sortedCopy);
    if (value !== null && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const key of Object.keys(value).sort()) out[key] = sortedCopy((value as Record<string, unknown>)[key]);
      return out;
    }
    return value;
  }

  it('writes what sorting every object’s keys and stringifying writes, whatever the nesting', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.constantFrom(0, 2), (value, indent) => {
        expect(stableStringify(value, indent)).toBe(JSON.stringify(sortedCopy(value), null, indent));
      }),
      { numRuns: 1000 },
    );
  });

  it('sorts long key lists the same way as short ones', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.integer(), { minKeys: 17, maxKeys: 40 }), (value) => {
        expect(stableStringify({ nested: value }, 0)).toBe(JSON.stringify(sortedCopy({ nested: value })));
      }),
    );
  });

  it('sorts keys at every depth, integer-like keys included', () => {
    expect(stableStringify({ b: 1, a: { d: [{ z: 1, y: 2 }], c: 3 }, 10: 'x', 9: 'y' }, 0)).toBe('{"9":"y","10":"x","a":{"c":3,"d":[{"y":2,"z":1}]},"b":1}');
  });
});
