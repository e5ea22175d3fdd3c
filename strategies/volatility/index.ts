import type { z } from 'zod';
import type { PointInTimeMarket } from '../../src/data/panel.js';
import { defineStrategy, type StrategyOutput } from '../../src/engine/strategy.js';
import { annualisedVol } from '../../src/risk/volatility.js';
import { factorParamsSchema, factorWarmupSessions, rebalanceFactor, type ColumnMoments } from '../../src/strategy-kit/index.js';

export const volatilityParamsSchema = factorParamsSchema({ window: 60, fewestObservations: 2 });
export type VolatilityParams = z.output<typeof volatilityParamsSchema>;

/** √252 × the sample standard deviation (n − 1) of each name's finite daily returns; NaN below 2 returns. */
export function annualisedVolatility(moments: ColumnMoments): Float64Array {
  const { observations, sumSquares } = moments;
  const vol = new Float64Array(observations.length);
  for (let i = 0; i < vol.length; i++) {
    const n = observations[i]!;
    vol[i] = n >= 2 ? annualisedVol(sumSquares[i]! / (n - 1)) : Number.NaN;
  }
  return vol;
}

export function rebalanceVolatility(market: PointInTimeMarket, params: VolatilityParams): StrategyOutput {
  return rebalanceFactor(market, params, {
    strategy: 'volatility',
    factor: 'volatility',
    longEnd: 'low',
    compute: (_window, moments) => annualisedVolatility(moments),
  });
}

export default defineStrategy({
  name: 'volatility',
  description: 'Low-volatility anomaly: long the lowest trailing-volatility names, short the highest.',
  paramsSchema: volatilityParamsSchema,
  warmupSessions: factorWarmupSessions,
  rebalance: ({ market, params }) => rebalanceVolatility(market, params),
});
