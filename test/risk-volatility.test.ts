import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DataError } from '../src/core/errors.js';
import { adoptWindowStats, annualisedVol, bookReturnProfile, computeWindowStats, estimateBookVol, shrunkDailyVariance } from '../src/risk/volatility.js';
import { fakeMarket } from './helpers/fake-market.js';
import { markImmutable } from '../src/kernels/kernels.js';

/** Row-major T×n from per-session rows. */
const matrix = (rows: number[][]): Float64Array => Float64Array.from(rows.flat());

/** w'Σw with Σ = (1−δ)S + δ diag(S), S formed explicitly from mean-imputed returns. */
function explicitVariance(rows: number[][], weights: number[], shrinkage: number): number {
  const sessions = rows.length;
  const n = weights.length;
  const means = weights.map((_, i) => {
    const seen = rows.map((r) => r[i]!).filter((r) => !Number.isNaN(r));
    return seen.length > 0 ? seen.reduce((a, b) => a + b, 0) / seen.length : 0;
  });
  const x = rows.map((r) => r.map((v, i) => (Number.isNaN(v) ? 0 : v - means[i]!)));
  let variance = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let t = 0; t < sessions; t++) s += x[t]![i]! * x[t]![j]!;
      s /= sessions - 1;
      variance += weights[i]! * weights[j]! * (i === j ? s : (1 - shrinkage) * s);
    }
  }
  return variance;
}

describe('book volatility', () => {
  it('matches a hand computation with a missing return', () => {
    // Name 0: mean 0.01 → x = [0, −0.02, 0.02]; name 1: mean 0.01 over two returns → x = [0.01, −0.01, 0].
    // p = ½x₀ + ½x₁ = [0.005, −0.015, 0.01]: Σp²/2 = 0.000175; diag term ¼(0.0004) + ¼(0.0001) = 0.000125.
    const rows = [
      [0.01, 0.02],
      [-0.01, 0.0],
      [0.03, Number.NaN],
    ];
    const profile = bookReturnProfile(matrix(rows), 3, Float64Array.from([0.5, 0.5]));
    expect(profile.ownVarianceTerm).toBeCloseTo(0.000125, 15);
    const daily = shrunkDailyVariance(profile, 0.3);
    expect(daily).toBeCloseTo(0.7 * 0.000175 + 0.3 * 0.000125, 15);
    expect(annualisedVol(daily)).toBeCloseTo(Math.sqrt(0.00016 * 252), 12);
    expect(profile.thinHistoryNames).toBe(0);
  });

  it('counts held names observed on under half of the window', () => {
    const rows = [
      [0.01, Number.NaN, 0.5],
      [0.02, Number.NaN, 0.5],
      [0.0, 0.01, 0.5],
    ];
    expect(bookReturnProfile(matrix(rows), 3, Float64Array.from([0.5, 0.5, 0])).thinHistoryNames).toBe(1);
  });

  it('equals the explicit shrunk covariance quadratic form on random panels', () => {
    const panel = fc.integer({ min: 1, max: 8 }).chain((n) =>
      fc.record({
        rows: fc.array(
          fc.array(fc.oneof({ weight: 5, arbitrary: fc.double({ min: -0.1, max: 0.1, noNaN: true }) }, { weight: 1, arbitrary: fc.constant(Number.NaN) }), {
            minLength: n,
            maxLength: n,
          }),
          { minLength: 2, maxLength: 30 },
        ),
        weights: fc.array(fc.oneof(fc.constant(0), fc.double({ min: -0.5, max: 0.5, noNaN: true })), { minLength: n, maxLength: n }),
        shrinkage: fc.double({ min: 0, max: 1, noNaN: true }),
      }),
    );
    fc.assert(
      fc.property(panel, ({ rows, weights, shrinkage }) => {
        const fast = shrunkDailyVariance(bookReturnProfile(matrix(rows), rows.length, Float64Array.from(weights)), shrinkage);
        expect(Math.abs(fast - explicitVariance(rows, weights, shrinkage))).toBeLessThanOrEqual(1e-14);
      }),
      { numRuns: 2000 },
    );
  });

  it('gives the same profile from statistics computed elsewhere (replay\'s worker) as from its own', () => {
    const rows = Array.from({ length: 40 }, (_, t) => Array.from({ length: 6 }, (_, i) => ((t * 7 + i * 13) % 11 === 0 ? Number.NaN : Math.sin(t * (i + 1)) / 50)));
    const weights = Float64Array.from([0.3, 0, -0.2, 0.25, 0.1, 0.15]);
    const own = bookReturnProfile(matrix(rows), 40, weights);
    const returns = matrix(rows);
    markImmutable(returns); // as a panel's returns are: what is derived from them may be kept
    const computed = { means: new Float64Array(6), sumSquares: new Float64Array(6), observed: new Int32Array(6) };
    computeWindowStats(returns, 40, 6, computed);
    adoptWindowStats(returns, 40, 6, computed);
    computed.sumSquares.fill(0); // what is read now is the adopted arrays: spoil them to prove it
    expect(bookReturnProfile(returns, 40, weights).ownVarianceTerm).toBe(0);
    computeWindowStats(returns, 40, 6, computed);
    expect(bookReturnProfile(returns, 40, weights)).toEqual(own);
  });

  it('computes every name\'s window statistics exactly as a plain two-pass loop', () => {
    const names = 11;
    const sessions = 30;
    // Names 2 and 9 have gaps (one leading NaN, one in the middle); the rest are complete.
    const rows = Array.from({ length: sessions }, (_, t) =>
      Array.from({ length: names }, (_, i) => ((i === 2 && t === 0) || (i === 9 && t === 17) ? Number.NaN : Math.cos(t * 1.7 + i * 0.31) / (40 + i))),
    );
    const stats = { means: new Float64Array(names), sumSquares: new Float64Array(names), observed: new Int32Array(names) };
    computeWindowStats(matrix(rows), sessions, names, stats);
    for (let i = 0; i < names; i++) {
      const series = rows.map((row) => row[i]!).filter((r) => !Number.isNaN(r));
      let sum = 0;
      for (const r of series) sum += r;
      const mean = sum / series.length;
      let squares = 0;
      for (const r of series) squares += (r - mean) * (r - mean);
      expect([stats.means[i], stats.sumSquares[i], stats.observed[i]], `name ${i}`).toEqual([mean, squares, series.length]);
    }
  });

  it('refuses to estimate from a history shorter than the window', () => {
    const market = fakeMarket({ names: [{ ticker: 'A', returns: [0.01, 0.02, 0.03] }] });
    expect(() => estimateBookVol(market, Float64Array.from([1]), 5, 0.3)).toThrow(DataError);
    expect(() => estimateBookVol(market, Float64Array.from([1]), 5, 0.3)).toThrow(/needs 5 daily returns.*has 4/);
  });
});
