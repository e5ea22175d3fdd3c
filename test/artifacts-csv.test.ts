import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fixed } from '../src/artifacts/csv.js';

/** What `fixed` promises: toFixed, with a minus that only marks a rounded-away zero dropped. */
function reference(value: number, decimals: number): string {
  if (!Number.isFinite(value)) return '';
  const text = value.toFixed(decimals);
  return /^-0\.?0*$/.test(text) ? text.slice(1) : text;
}

describe('fixed', () => {
  it('matches toFixed at ties, near ties and at the edges', () => {
    const cases: [number, number][] = [
      [0.125, 2], [0.375, 2], [1.005, 2], [2.5, 0], [-2.5, 0], [0.5, 0], [-0.5, 0], [1.45, 1], [8.345, 2],
      [-0.004, 2], [-0.005, 2], [-0, 2], [0, 0], [1e-7, 6], [-1e-7, 6], [123456.789, 2], [2 ** 39 / 100, 2],
      [549755813887.5, 0], [549755813888.5, 0], [1e21, 2], [-1e21, 2], [Number.MAX_VALUE, 2], [5e-324, 8],
      [0.1 + 0.2, 9], [1 / 3, 9], [2 / 3, 1], [999.9999995, 6], [-999.9999995, 6], [Number.NaN, 2], [Number.POSITIVE_INFINITY, 2],
    ];
    for (const [value, decimals] of cases) expect(fixed(value, decimals), `${value} to ${decimals}`).toBe(reference(value, decimals));
  });

  it('matches toFixed on any double, on prices and amounts, and just around halves', () => {
    const decimals = fc.integer({ min: 0, max: 12 });
    const cents = fc.integer({ min: -1e9, max: 1e9 }).map((n) => n / 100);
    const nearHalf = fc.tuple(fc.integer({ min: -1e8, max: 1e8 }), fc.integer({ min: 0, max: 9 }), fc.integer({ min: -4, max: 4 })).map(([n, d, ulps]) => {
      const half = (n + 0.5) / 10 ** d;
      let v = half;
      for (let k = 0; k < Math.abs(ulps); k++) v = ulps > 0 ? nextUp(v) : nextDown(v);
      return v;
    });
    const value = fc.oneof(fc.double(), fc.double({ min: -1e7, max: 1e7, noNaN: true }), cents, nearHalf);
    fc.assert(
      fc.property(value, decimals, (v, d) => {
        expect(fixed(v, d)).toBe(reference(v, d));
      }),
      { numRuns: 200_000 },
    );
  });
});

function nextUp(x: number): number {
  const bits = new Float64Array([x]);
  const ints = new BigInt64Array(bits.buffer);
  if (x === 0) return Number.MIN_VALUE;
  ints[0]! += x > 0 ? 1n : -1n;
  return bits[0]!;
}

function nextDown(x: number): number {
  return -nextUp(-x);
}
