import { describe, expect, it } from 'vitest';
import type { SleeveTarget } from '../../src/engine/strategy.js';
import { columnMoments, trailingReturnsWindow } from '../../src/strategy-kit/index.js';
import { fakeMarket, type FakeName } from '../../test/helpers/fake-market.js';
import volatility, { annualisedVolatility, rebalanceVolatility, volatilityParamsSchema, type VolatilityParams } from './index.js';

const params = (overrides: Partial<VolatilityParams> = {}): VolatilityParams => volatilityParamsSchema.parse(overrides);
const weightsOf = (targets: readonly SleeveTarget[]): Record<string, number> => Object.fromEntries(targets.map((t) => [t.ticker, t.weight]));
const sum = (values: readonly number[]): number => values.reduce((total, v) => total + v, 0);

/** ±amplitude alternating: sample std of n such returns is amplitude·√(n / (n − 1)). */
const alternating = (amplitude: number, sessions: number): number[] => Array.from({ length: sessions }, (_, t) => (t % 2 === 0 ? amplitude : -amplitude));
const liquid = (ticker: string, returns: number[]): FakeName => ({ ticker, close: 50, adv20: 1e7, returns });

describe('volatility params', () => {
  it('defaults to a 60-session window and rejects unknown keys and bad values', () => {
    expect(params()).toEqual({ window: 60, min_observations: 48, quantile: 0.2, long_only: false, gross: 1, min_adv: 2_000_000, weighting: 'equal' });
    expect(volatility.name).toBe('volatility');
    expect(volatility.warmupSessions(params())).toBe(61);
    expect(volatility.warmupSessions(params({ window: 20 }))).toBe(21);
    expect(volatilityParamsSchema.safeParse({ lookback: 60 }).success).toBe(false);
    expect(volatilityParamsSchema.safeParse({ window: 1 }).success).toBe(false);
    expect(volatilityParamsSchema.safeParse({ quantile: 0.75 }).success).toBe(false);
  });
});

describe('annualisedVolatility', () => {
  it('is √252 × the sample std of the finite returns', () => {
    // Deviations from the mean 0.02 are −1, 1, 0, −2, 2 (× 0.01): Σ = 10e-4, variance 2.5e-4, × 252 = 0.063.
    const market = fakeMarket({
      names: [
        { ticker: 'A', returns: [0.01, 0.03, 0.02, 0.0, 0.04, Number.NaN] },
        { ticker: 'B', returns: [Number.NaN, Number.NaN, Number.NaN, Number.NaN, Number.NaN, 0.01] },
        { ticker: 'C', returns: [0.01, 0.01, 0.01, 0.01, 0.01, 0.01] },
      ],
    });
    const vol = annualisedVolatility(columnMoments(trailingReturnsWindow(market, 6, 'volatility')));
    expect(vol[0]).toBeCloseTo(Math.sqrt(0.063), 14);
    expect(vol[1]).toBeNaN(); // one return has no sample std
    expect(vol[2]).toBe(0);
  });
});

describe('volatility rebalance', () => {
  // Ten names whose volatility rises with the ticker: A is the calmest, J the wildest.
  const sessions = 10;
  const tickers = 'ABCDEFGHIJ'.split('');
  const names = tickers.map((ticker, i) => liquid(ticker, alternating(0.005 * (i + 1), sessions)));
  const small = { window: sessions, min_observations: 8 };

  it('longs the lowest-volatility quintile and shorts the highest, ±0.5 per leg', () => {
    const output = rebalanceVolatility(fakeMarket({ names }), params(small));
    expect(weightsOf(output.targets)).toEqual({ A: 0.25, B: 0.25, I: -0.25, J: -0.25 });
    const expectedVol = 0.005 * Math.sqrt(sessions / (sessions - 1)) * Math.sqrt(252);
    expect(output.targets[0]!.score).toBeCloseTo(expectedVol, 14);
    expect(output.targets[0]!.meta).toMatchObject({ rank: 1, leg: 'long' });
    expect(output.targets[0]!.meta!.volatility).toBeCloseTo(expectedVol, 14);
    expect(output.targets[3]!.meta).toMatchObject({ rank: 10, leg: 'short' });
    expect(sum(output.targets.filter((t) => t.weight > 0).map((t) => t.weight))).toBeCloseTo(0.5, 15);
    expect(sum(output.targets.filter((t) => t.weight < 0).map((t) => t.weight))).toBeCloseTo(-0.5, 15);
  });

  it('puts the whole gross in the calmest names when long-only', () => {
    const output = rebalanceVolatility(fakeMarket({ names }), params({ ...small, long_only: true }));
    expect(weightsOf(output.targets)).toEqual({ A: 0.5, B: 0.5 });
  });

  it('skips names below min_adv and with too few returns, and the next calmest take their place', () => {
    const filtered = names.map((name) => {
      if (name.ticker === 'A') return { ...name, adv20: 1_999_999 };
      if (name.ticker === 'B') return { ...name, returns: name.returns!.map((r, t) => (t < 3 ? Number.NaN : r)) };
      return name;
    });
    const output = rebalanceVolatility(fakeMarket({ names: filtered }), params(small));
    // 8 eligible names leave ⌊0.2 × 8⌋ = 1 per leg.
    expect(weightsOf(output.targets)).toEqual({ C: 0.5, J: -0.5 });
  });

  it('throws when the history is shorter than the window', () => {
    expect(() => rebalanceVolatility(fakeMarket({ names }), params())).toThrow(/needs 60 daily returns \(61 sessions of closes\)/);
  });
});
