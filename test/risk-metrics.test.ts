import { describe, expect, it } from 'vitest';
import { riskConfigSchema } from '../src/risk/config.js';
import { NO_SECTOR, portfolioMetrics } from '../src/risk/metrics.js';
import { estimateBookVol } from '../src/risk/volatility.js';
import { fakeMarket } from './helpers/fake-market.js';

const config = riskConfigSchema.parse({ vol_window: 4 });
const liquid = { alpha: 1, volBlend: 0.2 };
const market = fakeMarket({
  names: [
    { ticker: 'A', sector: 'Tech', adv20: 10e6, ...liquid, returns: [0.01, -0.02, 0.015, 0.0] },
    { ticker: 'B', sector: 'Tech', adv20: 20e6, ...liquid, returns: [0.02, -0.01, 0.005, 0.01] },
    { ticker: 'C', sector: 'Energy', adv20: 40e6, ...liquid, returns: [-0.01, 0.03, 0.0, -0.005] },
    { ticker: 'D', sector: null, adv20: Number.NaN, returns: [0.05, 0.05, -0.05, 0.0] },
  ],
});
const vector = (values: number[]): Float64Array => Float64Array.from(values);

describe('portfolioMetrics', () => {
  it('summarises positions, concentration, liquidity and turnover', () => {
    const metrics = portfolioMetrics({ weights: vector([0.5, 0.3, 0.2, 0]), prior: vector([0.4, 0.4, 0.2, 0]), market, config });
    expect(metrics.n_positions).toBe(3);
    expect(metrics.total_weight).toBeCloseTo(1, 15);
    expect(metrics.top_5_weight).toBeCloseTo(1, 15);
    expect(Object.entries(metrics.sector_concentration)).toEqual([
      ['Tech', 0.8],
      ['Energy', 0.2],
    ]);
    // |w|-weighted: 0.5 × 10M + 0.3 × 20M + 0.2 × 40M.
    expect(metrics.avg_adv).toBeCloseTo(19e6, 6);
    expect(metrics.turnover_vs_prior).toBeCloseTo(0.1, 15);
    expect(metrics.estimated_vol).toBeCloseTo(estimateBookVol(market, vector([0.5, 0.3, 0.2, 0]), 4, config.shrinkage).vol, 15);
  });

  it('measures beta against the equal-weight index of the liquid universe', () => {
    const third = 1 / 3;
    const index = portfolioMetrics({ weights: vector([third, third, third, 0]), prior: null, market, config });
    expect(index.estimated_beta).toBeCloseTo(1, 12);
    const doubled = portfolioMetrics({ weights: vector([2 * third, 2 * third, 2 * third, 0]), prior: null, market, config });
    expect(doubled.estimated_beta).toBeCloseTo(2, 12);
    expect(index.turnover_vs_prior).toBe(0);
  });

  it('orders sectors by weight then name, counts shorts by size, and labels names without a sector', () => {
    const metrics = portfolioMetrics({ weights: vector([0.1, 0, 0.1, -0.3]), prior: null, market, config });
    expect(Object.keys(metrics.sector_concentration)).toEqual(['Energy', 'Tech', NO_SECTOR]);
    expect(metrics.top_5_weight).toBeCloseTo(0.5, 15);
    expect(metrics.total_weight).toBeCloseTo(-0.1, 15);
    expect(metrics.avg_adv).toBeCloseTo(25e6, 6);
  });

  it('reports no beta or liquidity for an empty book', () => {
    const metrics = portfolioMetrics({ weights: vector([0, 0, 0, 0]), prior: null, market, config });
    expect(metrics.n_positions).toBe(0);
    expect(metrics.avg_adv).toBeNull();
    expect(metrics.estimated_vol).toBe(0);
    expect(metrics.estimated_beta).toBe(0);
  });
});
