import type { z } from 'zod';
import type { PointInTimeMarket } from '../../src/data/panel.js';
import { defineStrategy, type StrategyOutput } from '../../src/engine/strategy.js';
import { factorParamsSchema, factorWarmupSessions, rebalanceFactor, type ColumnMoments } from '../../src/strategy-kit/index.js';

/** G2's bias correction divides by (n − 2)(n − 3). */
const FEWEST_RETURNS = 4;

export const kurtosisParamsSchema = factorParamsSchema({ window: 120, fewestObservations: FEWEST_RETURNS });
export type KurtosisParams = z.output<typeof kurtosisParamsSchema>;

/**
 * Sample excess kurtosis, bias-adjusted (Fisher's G2, as Excel KURT and scipy `kurtosis(bias=False)`):
 * g2 = n Σe⁴ / (Σe²)² − 3 with e the demeaned returns, G2 = ((n + 1) g2 + 6) (n − 1) / ((n − 2)(n − 3)).
 * NaN below 4 returns or for a flat series.
 */
export function excessKurtosis(moments: ColumnMoments): Float64Array {
  const { observations, sumSquares, sumFourthPowers } = moments;
  const kurtosis = new Float64Array(observations.length);
  for (let i = 0; i < kurtosis.length; i++) {
    const n = observations[i]!;
    const squares = sumSquares[i]!;
    if (n < FEWEST_RETURNS || !(squares > 0)) {
      kurtosis[i] = Number.NaN;
      continue;
    }
    const g2 = (n * sumFourthPowers[i]!) / (squares * squares) - 3;
    kurtosis[i] = (((n + 1) * g2 + 6) * (n - 1)) / ((n - 2) * (n - 3));
  }
  return kurtosis;
}

export function rebalanceKurtosis(market: PointInTimeMarket, params: KurtosisParams): StrategyOutput {
  return rebalanceFactor(market, params, {
    strategy: 'kurtosis',
    factor: 'excess_kurtosis',
    longEnd: 'low',
    compute: (_window, moments) => excessKurtosis(moments),
  });
}

export default defineStrategy({
  name: 'kurtosis',
  description: 'Tail risk: long the thinnest-tailed names (lowest excess kurtosis), short the fattest-tailed.',
  paramsSchema: kurtosisParamsSchema,
  warmupSessions: factorWarmupSessions,
  rebalance: ({ market, params }) => rebalanceKurtosis(market, params),
});
