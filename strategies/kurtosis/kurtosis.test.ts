import { describe, expect, it } from 'vitest';
import type { SleeveTarget } from '../../src/engine/strategy.js';
import { columnMoments, trailingReturnsWindow } from '../../src/strategy-kit/index.js';
import { fakeMarket, type FakeName } from '../../test/helpers/fake-market.js';
import kurtosis, { excessKurtosis, kurtosisParamsSchema, rebalanceKurtosis, type KurtosisParams } from './index.js';

const params = (overrides: Partial<KurtosisParams> = {}): KurtosisParams => kurtosisParamsSchema.parse(overrides);
const weightsOf = (targets: readonly SleeveTarget[]): Record<string, number> => Object.fromEntries(targets.map((t) => [t.ticker, t.weight]));
/** Excess kurtosis per ticker over all the returns given. */
const kurtosisOf = (names: readonly FakeName[]): Record<string, number> => {
  const market = fakeMarket({ names });
  const kurt = excessKurtosis(columnMoments(trailingReturnsWindow(market, names[0]!.returns!.length, 'kurtosis')));
  return Object.fromEntries(market.tickers.map((ticker, i) => [ticker, kurt[i]!]));
};

/** Nine quiet days and one jump, repeated: a fat right tail. */
const jumpy = (sessions: number, size: number): number[] => Array.from({ length: sessions }, (_, t) => (t % 10 === 9 ? size : 0));

describe('kurtosis params', () => {
  it('defaults to a 120-session window and rejects unknown keys and bad values', () => {
    expect(params()).toEqual({ window: 120, min_observations: 96, quantile: 0.2, long_only: false, gross: 1, min_adv: 2_000_000, weighting: 'equal' });
    expect(kurtosis.name).toBe('kurtosis');
    expect(kurtosis.warmupSessions(params())).toBe(121);
    expect(kurtosisParamsSchema.safeParse({ fisher: true }).success).toBe(false);
    expect(kurtosisParamsSchema.safeParse({ window: 3 }).success).toBe(false); // G2 needs 4 returns
    expect(kurtosisParamsSchema.safeParse({ window: 60, min_observations: 3 }).success).toBe(false);
    expect(kurtosisParamsSchema.safeParse({ gross: -1 }).success).toBe(false);
  });
});

describe('excessKurtosis', () => {
  it('matches hand computations of G2', () => {
    // JUMP, nine 0s and one 1%: e = −0.1 (×9) and 0.9 (×1%); Σe² = 0.9, Σe⁴ = 0.657 (×1%⁴),
    //   g2 = 10 × 0.657 / 0.81 − 3 = 46/9, G2 = (11 × 46/9 + 6) × 9 / (8 × 7) = 560 / 56 = 10.
    // SWING, ±1% alternating over 4: Σe² = 4, Σe⁴ = 4, g2 = 4 × 4 / 16 − 3 = −2, G2 = (5 × −2 + 6) × 3 / (2 × 1) = −6.
    //   Padded with NaNs to the same length: missing returns do not count towards n.
    const kurt = kurtosisOf([
      { ticker: 'JUMP', returns: jumpy(10, 0.01) },
      { ticker: 'SWING', returns: [0.01, -0.01, 0.01, -0.01, ...Array.from({ length: 6 }, () => Number.NaN)] },
      { ticker: 'FLAT', returns: Array.from({ length: 10 }, () => 0.002) },
      { ticker: 'SHORT', returns: [0.01, 0.02, 0.03, ...Array.from({ length: 7 }, () => Number.NaN)] },
    ]);
    expect(kurt.JUMP).toBeCloseTo(10, 12);
    expect(kurt.SWING).toBeCloseTo(-6, 12);
    expect(kurt.FLAT).toBeNaN(); // no variance
    expect(kurt.SHORT).toBeNaN(); // fewer than 4 returns
  });

  it('does not depend on the scale or sign of the returns', () => {
    const kurt = kurtosisOf([
      { ticker: 'A', returns: jumpy(10, 0.01) },
      { ticker: 'B', returns: jumpy(10, -0.25) },
    ]);
    expect(kurt.B).toBeCloseTo(kurt.A!, 10);
  });
});

describe('kurtosis rebalance', () => {
  // A..E share one smooth, bounded series (G2 ≈ −1.5); F..J add +8% jumps every 24..120 sessions.
  // Two jumps (I) give the fattest tails, one (J) the next: a single outlier also inflates the variance.
  const sessions = 120;
  const smooth = Array.from({ length: sessions }, (_, t) => 0.01 * Math.sin(t * 1.3));
  const withJumps = (every: number): number[] => smooth.map((r, t) => (t % every === every - 1 ? r + 0.08 : r));
  const names: FakeName[] = [
    ...'ABCDE'.split('').map((ticker) => ({ ticker, returns: smooth })),
    ...[24, 30, 40, 60, 120].map((every, i) => ({ ticker: 'FGHIJ'[i]!, returns: withJumps(every) })),
  ].map((name) => ({ ...name, close: 30, adv20: 4e6 }));

  it('longs the thinnest tails and shorts the fattest, ties going to the lower ticker', () => {
    const output = rebalanceKurtosis(fakeMarket({ names }), params());
    expect(weightsOf(output.targets)).toEqual({ A: 0.25, B: 0.25, I: -0.25, J: -0.25 });
    const kurt = Object.fromEntries(output.targets.map((t) => [t.ticker, t.score!]));
    expect(kurt.A).toBeLessThan(-1);
    expect(kurt.I).toBeGreaterThan(kurt.J!);
    expect(output.targets.map((t) => t.meta)).toEqual([
      { excess_kurtosis: kurt.A, rank: 1, leg: 'long' },
      { excess_kurtosis: kurt.B, rank: 2, leg: 'long' },
      { excess_kurtosis: kurt.I, rank: 10, leg: 'short' },
      { excess_kurtosis: kurt.J, rank: 9, leg: 'short' },
    ]);
  });

  it('puts the whole gross in the thin-tailed names when long-only', () => {
    const output = rebalanceKurtosis(fakeMarket({ names }), params({ long_only: true }));
    expect(weightsOf(output.targets)).toEqual({ A: 0.5, B: 0.5 });
  });

  it('throws when the history is shorter than the window', () => {
    const short = names.map((name) => ({ ...name, returns: name.returns!.slice(0, 100) }));
    expect(() => rebalanceKurtosis(fakeMarket({ names: short }), params())).toThrow(/kurtosis at 2025-12-30: needs 120 daily returns/);
  });
});
