import { describe, expect, it } from 'vitest';
import { nonZeroIndices } from '../src/core/vectors.js';

describe('nonZeroIndices', () => {
  it('lists the entries that are not ±0, ascending, NaN and ±∞ included', () => {
    const values = Float64Array.from([0, 1, -0, -2, Number.NaN, 0, Number.POSITIVE_INFINITY, 5e-324, 0]);
    expect([...nonZeroIndices(values)]).toEqual([1, 3, 4, 6, 7]);
  });

  it('gives independent arrays across calls of growing and shrinking lengths', () => {
    const long = nonZeroIndices(Float64Array.from({ length: 100 }, (_, i) => (i % 3 === 0 ? 1 : 0)));
    const short = nonZeroIndices(Float64Array.from([0, 7, 0]));
    const empty = nonZeroIndices(new Float64Array(5));
    expect([...short]).toEqual([1]);
    expect(empty.length).toBe(0);
    expect([...long]).toEqual(Array.from({ length: 34 }, (_, k) => 3 * k));
    expect(nonZeroIndices(new Float64Array(0)).length).toBe(0);
  });
});
