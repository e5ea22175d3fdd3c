import { z } from 'zod';
import { squaredChanges } from '../../src/kernels/kernels.js';
import type { PointInTimeMarket } from '../../src/data/panel.js';
import { defineStrategy, type StrategyOutput } from '../../src/engine/strategy.js';
import { factorParamsSchema, factorWarmupSessions, rebalanceFactor, type ColumnMoments, type ReturnsWindow } from '../../src/strategy-kit/index.js';

export const durbinWatsonParamsSchema = factorParamsSchema(
  { window: 60, fewestObservations: 3 },
  {
    /** `trending` longs the lowest DW (positive autocorrelation); `mean_reverting` the highest. */
    prefer: z.enum(['trending', 'mean_reverting']).default('trending'),
  },
);
export type DurbinWatsonParams = z.output<typeof durbinWatsonParamsSchema>;

/**
 * DW = Σ_{t≥2} (e_t − e_{t−1})² / Σ_t e_t² with e the name's demeaned daily returns.
 * Demeaning cancels in a difference, so the numerator is Σ (r_t − r_{t−1})². It only counts
 * pairs of adjacent finite returns; when a gap removes some, it is scaled by (n − 1) / pairs so a
 * name with a missing day stays comparable with a complete one. NaN with no pair or a flat series.
 */
export function durbinWatson(window: ReturnsWindow, moments: ColumnMoments): Float64Array {
  const { sessions, names } = window;
  const changes = squaredChanges(window.returns, sessions, names, 'finite');
  const statistic = new Float64Array(names);
  for (let i = 0; i < names; i++) {
    const adjacentPairs = changes.counts[i]!;
    const sumSquares = moments.sumSquares[i]!;
    if (adjacentPairs === 0 || !(sumSquares > 0)) {
      statistic[i] = Number.NaN;
      continue;
    }
    const gapScale = (moments.observations[i]! - 1) / adjacentPairs;
    statistic[i] = (changes.sums[i]! * gapScale) / sumSquares;
  }
  return statistic;
}

export function rebalanceDurbinWatson(market: PointInTimeMarket, params: DurbinWatsonParams): StrategyOutput {
  return rebalanceFactor(market, params, {
    strategy: 'durbin-watson',
    factor: 'durbin_watson',
    longEnd: params.prefer === 'trending' ? 'low' : 'high',
    compute: durbinWatson,
  });
}

export default defineStrategy({
  name: 'durbin-watson',
  description: 'Return autocorrelation: long the names whose Durbin–Watson statistic is most in the preferred regime, short the other end.',
  paramsSchema: durbinWatsonParamsSchema,
  warmupSessions: factorWarmupSessions,
  rebalance: ({ market, params }) => rebalanceDurbinWatson(market, params),
});
