import { describe, expect, it } from 'vitest';
import type { SleeveTarget } from '../../src/engine/strategy.js';
import { columnMoments, trailingReturnsWindow } from '../../src/strategy-kit/index.js';
import { fakeMarket, type FakeName } from '../../test/helpers/fake-market.js';
import durbinWatsonStrategy, { durbinWatson, durbinWatsonParamsSchema, rebalanceDurbinWatson, type DurbinWatsonParams } from './index.js';

const params = (overrides: Partial<DurbinWatsonParams> = {}): DurbinWatsonParams => durbinWatsonParamsSchema.parse(overrides);
const weightsOf = (targets: readonly SleeveTarget[]): Record<string, number> => Object.fromEntries(targets.map((t) => [t.ticker, t.weight]));
/** DW per ticker over the last `sessions` returns. */
const statisticOf = (names: readonly FakeName[], sessions: number): Record<string, number> => {
  const market = fakeMarket({ names });
  const window = trailingReturnsWindow(market, sessions, 'durbin-watson');
  const dw = durbinWatson(window, columnMoments(window));
  return Object.fromEntries(market.tickers.map((ticker, i) => [ticker, dw[i]!]));
};

const SESSIONS = 60;
const alternating = Array.from({ length: SESSIONS }, (_, t) => (t % 2 === 0 ? 0.01 : -0.01));
const trend = Array.from({ length: SESSIONS }, (_, t) => 0.0001 * (t + 1));

describe('durbin-watson params', () => {
  it('defaults to a 60-session window preferring trending names and rejects unknown keys and bad values', () => {
    expect(params()).toEqual({
      window: 60,
      min_observations: 48,
      quantile: 0.2,
      long_only: false,
      gross: 1,
      min_adv: 2_000_000,
      weighting: 'equal',
      prefer: 'trending',
    });
    expect(durbinWatsonStrategy.name).toBe('durbin-watson');
    expect(durbinWatsonStrategy.warmupSessions(params())).toBe(61);
    expect(durbinWatsonParamsSchema.safeParse({ prefer: 'momentum' }).success).toBe(false);
    expect(durbinWatsonParamsSchema.safeParse({ lag: 1 }).success).toBe(false);
    expect(durbinWatsonParamsSchema.safeParse({ window: 2 }).success).toBe(false);
  });
});

describe('durbinWatson', () => {
  it('is 4(n − 1)/n for a strictly alternating series and 12 / (n(n + 1)) for a linear trend', () => {
    // Alternating ±a: mean 0, every change is 2a, so DW = (n − 1)·4a² / (n·a²).
    // Linear r_t = c·t: every change is c and Σe² = c²·n(n² − 1)/12, so DW = 12 / (n(n + 1)).
    const dw = statisticOf([{ ticker: 'ALT', returns: alternating }, { ticker: 'TREND', returns: trend }], SESSIONS);
    expect(dw.ALT).toBeCloseTo((4 * (SESSIONS - 1)) / SESSIONS, 12);
    expect(dw.TREND).toBeCloseTo(12 / (SESSIONS * (SESSIONS + 1)), 12);
  });

  it('matches a hand computation and rescales the changes a gap removes', () => {
    // [1, 2, 4, 3]%: e = −1.5, −0.5, 1.5, 0.5 → Σe² = 5; changes 1, 2, −1 → Σ = 6; DW = 1.2.
    // With a gap before the 4, only the pairs (1, 2) and (4, 3) remain: 2 × (3 pairs / 2) / 5 = 0.6.
    const dw = statisticOf(
      [
        { ticker: 'FULL', returns: [Number.NaN, 0.01, 0.02, 0.04, 0.03] },
        { ticker: 'GAP', returns: [0.01, 0.02, Number.NaN, 0.04, 0.03] },
        { ticker: 'FLAT', returns: [0.01, 0.01, 0.01, 0.01, 0.01] },
        { ticker: 'LONE', returns: [0.01, Number.NaN, 0.02, Number.NaN, 0.03] },
      ],
      5,
    );
    expect(dw.FULL).toBeCloseTo(1.2, 12);
    expect(dw.GAP).toBeCloseTo(0.6, 12);
    expect(dw.FLAT).toBeNaN(); // no variance
    expect(dw.LONE).toBeNaN(); // no two adjacent returns
  });
});

describe('durbin-watson rebalance', () => {
  // DW falls from ~4 (alternating) towards 0 (trending) as the ticker letter rises.
  const blend = (trendShare: number): number[] => alternating.map((r, t) => (1 - trendShare) * r + trendShare * 100 * trend[t]!);
  const names: FakeName[] = 'ABCDEFGHIJ'.split('').map((ticker, i) => ({ ticker, close: 20, adv20: 5e6, returns: blend(i / 9) }));

  it('longs the most trending names (lowest DW) and shorts the most mean-reverting by default', () => {
    const output = rebalanceDurbinWatson(fakeMarket({ names }), params());
    expect(weightsOf(output.targets)).toEqual({ A: -0.25, B: -0.25, I: 0.25, J: 0.25 });
    const j = output.targets.find((t) => t.ticker === 'J')!;
    expect(j.meta).toMatchObject({ rank: 1, leg: 'long' });
    expect(j.meta!.durbin_watson).toBeCloseTo(12 / (SESSIONS * (SESSIONS + 1)), 12);
  });

  it('flips the legs when preferring mean-reverting names', () => {
    const output = rebalanceDurbinWatson(fakeMarket({ names }), params({ prefer: 'mean_reverting' }));
    expect(weightsOf(output.targets)).toEqual({ A: 0.25, B: 0.25, I: -0.25, J: -0.25 });
    expect(output.targets[0]!.meta).toMatchObject({ rank: 1, leg: 'long' });
    expect(output.targets[0]!.score).toBeCloseTo((4 * (SESSIONS - 1)) / SESSIONS, 12);
  });

  it('throws when the history is shorter than the window', () => {
    expect(() => rebalanceDurbinWatson(fakeMarket({ names }), params({ window: 80 }))).toThrow(/needs 80 daily returns/);
  });
});
