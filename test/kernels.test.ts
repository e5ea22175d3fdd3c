import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { columnMoments, markImmutable, squaredChanges, upperCrossProducts, weightedRowSums, type Counted } from '../src/kernels/kernels.js';
import { KERNELS_WASM_BASE64 } from '../src/kernels/kernels-binary.js';
// @ts-expect-error -- a plain ES module script without type declarations
import { compileKernels } from '../scripts/build-kernels.mjs';

/** The scalar loops the kernels replace, written the obvious way. */
function counts(x: number, counted: Counted): boolean {
  return counted === 'finite' ? Number.isFinite(x) : !Number.isNaN(x);
}

function referenceMoments(block: Float64Array, rows: number, n: number, counted: Counted, emptyMean: number) {
  const observations: number[] = [];
  const means: number[] = [];
  const sumSquares: number[] = [];
  const sumFourthPowers: number[] = [];
  for (let i = 0; i < n; i++) {
    let count = 0;
    let sum = 0;
    for (let t = 0; t < rows; t++) {
      const x = block[t * n + i]!;
      if (!counts(x, counted)) continue;
      sum += x;
      count++;
    }
    const mean = count > 0 ? sum / count : emptyMean;
    let squares = 0;
    let fourths = 0;
    for (let t = 0; t < rows; t++) {
      const x = block[t * n + i]!;
      if (!counts(x, counted)) continue;
      const squared = (x - mean) * (x - mean);
      squares += squared;
      fourths += squared * squared;
    }
    observations.push(count);
    means.push(mean);
    sumSquares.push(squares);
    sumFourthPowers.push(fourths);
  }
  return { observations, means, sumSquares, sumFourthPowers };
}

function referenceChanges(block: Float64Array, rows: number, n: number, counted: Counted) {
  const tally: number[] = [];
  const sums: number[] = [];
  for (let i = 0; i < n; i++) {
    let count = 0;
    let sum = 0;
    for (let t = 1; t < rows; t++) {
      const change = block[t * n + i]! - block[(t - 1) * n + i]!;
      if (!counts(change, counted)) continue;
      sum += change * change;
      count++;
    }
    tally.push(count);
    sums.push(sum);
  }
  return { counts: tally, sums };
}

function referenceRowSums(block: Float64Array, rows: number, n: number, columns: Int32Array, weights: Float64Array, means: Float64Array): number[] {
  const out: number[] = [];
  for (let t = 0; t < rows; t++) {
    let sum = 0;
    for (let k = 0; k < columns.length; k++) {
      const x = block[t * n + columns[k]!]!;
      sum += weights[k]! * (Number.isNaN(x) ? 0 : x - means[k]!);
    }
    out.push(sum);
  }
  return out;
}

/** Bit-for-bit equality, telling +0 from −0 and NaN from a number. */
function expectSameBits(actual: ArrayLike<number>, expected: ArrayLike<number>): void {
  expect(actual.length).toBe(expected.length);
  for (let k = 0; k < expected.length; k++) {
    if (!Object.is(actual[k], expected[k])) throw new Error(`index ${k}: ${actual[k]} !== ${expected[k]}`);
  }
}

const value = fc.oneof(
  { weight: 12, arbitrary: fc.double({ min: -0.2, max: 0.2, noNaN: true }) },
  { weight: 2, arbitrary: fc.constant(Number.NaN) },
  { weight: 1, arbitrary: fc.constantFrom(Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 0, 1e300, -1e-300) },
);

const blocks = fc
  .record({ rows: fc.integer({ min: 0, max: 11 }), n: fc.integer({ min: 1, max: 9 }) })
  .chain(({ rows, n }) => fc.record({ rows: fc.constant(rows), n: fc.constant(n), values: fc.array(value, { minLength: rows * n, maxLength: rows * n }) }));

describe('WebAssembly kernels', () => {
  it('are the binary compiled from kernels.wat (run `npm run build:kernels` after editing it)', async () => {
    const binary = (await compileKernels()) as Uint8Array;
    expect(Buffer.from(binary).toString('base64')).toBe(KERNELS_WASM_BASE64);
  });

  it('column moments equal the two-pass column loop bit for bit, whichever values count', () => {
    fc.assert(
      fc.property(blocks, fc.constantFrom<Counted>('finite', 'not-nan'), fc.constantFrom(Number.NaN, 0), ({ rows, n, values }, counted, emptyMean) => {
        const block = Float64Array.from(values);
        const expected = referenceMoments(block, rows, n, counted, emptyMean);
        const actual = columnMoments(block, rows, n, { counted, emptyMean, fourthPowers: true });
        expectSameBits(actual.observations, expected.observations);
        expectSameBits(actual.means, expected.means);
        expectSameBits(actual.sumSquares, expected.sumSquares);
        expectSameBits(actual.sumFourthPowers, expected.sumFourthPowers);
        const squaresOnly = columnMoments(block, rows, n, { counted, emptyMean, fourthPowers: false });
        expectSameBits(squaresOnly.sumSquares, expected.sumSquares);
        expect(squaresOnly.sumFourthPowers.length).toBe(0);
      }),
      { numRuns: 400 },
    );
  });

  it('squared changes equal the adjacent-pair loop bit for bit', () => {
    fc.assert(
      fc.property(blocks, fc.constantFrom<Counted>('finite', 'not-nan'), ({ rows, n, values }, counted) => {
        const block = Float64Array.from(values);
        const expected = referenceChanges(block, rows, n, counted);
        const actual = squaredChanges(block, rows, n, counted);
        expectSameBits(actual.counts, expected.counts);
        expectSameBits(actual.sums, expected.sums);
      }),
      { numRuns: 400 },
    );
  });

  it('weighted row sums add their terms in list order, bit for bit, a NaN counting as zero', () => {
    const cases = blocks.chain(({ rows, n, values }) =>
      fc.record({
        rows: fc.constant(rows),
        n: fc.constant(n),
        values: fc.constant(values),
        columns: fc.array(fc.integer({ min: 0, max: n - 1 }), { maxLength: 12 }),
        weight: fc.double({ min: -0.5, max: 0.5, noNaN: true }),
      }),
    );
    fc.assert(
      fc.property(cases, ({ rows, n, values, columns, weight }) => {
        const block = Float64Array.from(values);
        const listed = Int32Array.from(columns);
        const weights = Float64Array.from(columns, (c, k) => weight * (k + 1) - c / 10);
        const means = Float64Array.from(columns, (c) => c / 1000);
        expectSameBits(weightedRowSums(block, rows, n, listed, weights, means), referenceRowSums(block, rows, n, listed, weights, means));
      }),
      { numRuns: 400 },
    );
  });

  it('cross products equal one dot product per pair in row order, bit for bit, on and above the diagonal', () => {
    const cases = fc
      .record({ rows: fc.integer({ min: 0, max: 9 }), quads: fc.integer({ min: 1, max: 3 }) })
      .chain(({ rows, quads }) => fc.record({ rows: fc.constant(rows), width: fc.constant(4 * quads), values: fc.array(value, { minLength: rows * 4 * quads, maxLength: rows * 4 * quads }) }));
    fc.assert(
      fc.property(cases, ({ rows, width, values }) => {
        const block = Float64Array.from(values);
        const products = upperCrossProducts(block, rows, width);
        for (let k = 0; k < width; k++) {
          for (let l = k; l < width; l++) {
            let dot = 0;
            for (let t = 0; t < rows; t++) dot += block[t * width + k]! * block[t * width + l]!;
            if (!Object.is(products[k * width + l], dot)) throw new Error(`(${k}, ${l}): ${products[k * width + l]} !== ${dot}`);
          }
        }
      }),
      { numRuns: 300 },
    );
    expect(() => upperCrossProducts(new Float64Array(6), 2, 3)).toThrow(/multiple of 4/);
  });

  it('reads windows of an immutable array from one resident copy, and copies any other array for each call', () => {
    const panel = Float64Array.from({ length: 40 }, (_, cell) => cell / 100);
    markImmutable(panel);
    const late = columnMoments(panel.subarray(20, 40), 5, 4, { counted: 'finite', emptyMean: Number.NaN, fourthPowers: false });
    expectSameBits(late.means, referenceMoments(panel.subarray(20, 40), 5, 4, 'finite', Number.NaN).means);
    const early = columnMoments(panel.subarray(0, 20), 5, 4, { counted: 'finite', emptyMean: Number.NaN, fourthPowers: false });
    expectSameBits(early.means, referenceMoments(panel.subarray(0, 20), 5, 4, 'finite', Number.NaN).means);

    const mutable = Float64Array.from({ length: 8 }, (_, cell) => cell);
    expect(Array.from(columnMoments(mutable, 4, 2, { counted: 'finite', emptyMean: 0, fourthPowers: false }).means)).toEqual([3, 4]);
    mutable.fill(1);
    expect(Array.from(columnMoments(mutable, 4, 2, { counted: 'finite', emptyMean: 0, fourthPowers: false }).means)).toEqual([1, 1]);
  });

  it('rejects a block whose length is not rows × n and columns outside the block', () => {
    expect(() => columnMoments(new Float64Array(5), 2, 3, { counted: 'finite', emptyMean: 0, fourthPowers: false })).toThrow(/5 values, expected 2 × 3/);
    expect(() => weightedRowSums(new Float64Array(6), 2, 3, Int32Array.of(3), Float64Array.of(1), Float64Array.of(0))).toThrow(/column 3 outside/);
  });
});
