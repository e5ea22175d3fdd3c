import { describe, expect, it } from 'vitest';
import { jsonEqual } from '../src/core/json.js';

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
