import { z } from 'zod';
import type { PointInTimeMarket } from '../../src/data/panel.js';
import { defineStrategy, type SleeveTarget, type StrategyOutput } from '../../src/engine/strategy.js';

/**
 * The example plugin of docs/write-a-strategy.md: cross-sectional momentum. Names that rose most
 * over the last few months tend to keep outperforming for a while, so the sleeve holds the
 * `top_n` liquid names with the highest trailing return, equal weight, long only.
 */
export const momentumParamsSchema = z.strictObject({
  /** Names held. */
  top_n: z.number().int().min(1).default(20),
  /** Trailing sessions the return is measured over. */
  window: z.number().int().min(1).default(60),
  /** adv_20 floor ($); names without adv_20 are skipped. */
  min_adv: z.number().min(0).default(2_000_000),
});
export type MomentumParams = z.output<typeof momentumParamsSchema>;

/** close_D / close_{D−window} − 1 per name; NaN when either close is missing. */
export function trailingReturns(market: PointInTimeMarket, window: number): Float64Array {
  // `window + 1` closes ending at D, row-major with row 0 the oldest; a DataError if history is short.
  const closes = market.window('close', window + 1);
  const width = market.tickers.length;
  return Float64Array.from({ length: width }, (_, i) => closes[window * width + i]! / closes[i]! - 1);
}

export function rebalanceMomentum(market: PointInTimeMarket, params: MomentumParams): StrategyOutput {
  const momentum = trailingReturns(market, params.window);
  const adv = market.field('adv20');
  const eligible: number[] = [];
  for (let i = 0; i < market.tickers.length; i++) {
    // A missing adv_20 is NaN and fails the comparison, so it is skipped like a thin name.
    if (Number.isFinite(momentum[i]) && adv[i]! >= params.min_adv) eligible.push(i);
  }
  // market.tickers is sorted and the sort is stable, so equal returns rank by ticker.
  eligible.sort((a, b) => momentum[b]! - momentum[a]!);
  const held = eligible.slice(0, params.top_n);

  const targets: SleeveTarget[] = held.map((i, rank) => ({
    ticker: market.tickers[i]!,
    weight: 1 / held.length,
    score: momentum[i]!,
    meta: { rank: rank + 1, trailing_return: momentum[i]! },
  }));
  const notes =
    held.length < params.top_n
      ? [`only ${eligible.length} names have both closes and adv_20 ≥ ${params.min_adv}: holding ${held.length} instead of ${params.top_n}`]
      : [];
  return { targets, notes };
}

export default defineStrategy({
  name: 'example-momentum',
  description: 'Momentum: long the top_n liquid names by trailing window-session return, equal weight.',
  paramsSchema: momentumParamsSchema,
  // A return over `window` sessions needs the close `window` sessions before D as well as D's.
  warmupSessions: (params) => params.window + 1,
  rebalance: ({ market, params, log }) => {
    const output = rebalanceMomentum(market, params);
    log.debug({ held: output.targets.length }, 'momentum sleeve built');
    return output;
  },
});
