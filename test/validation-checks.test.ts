import { describe, expect, it } from 'vitest';
import { validationConfigSchema } from '../src/config/schema.js';
import { createMarketPanel } from '../src/data/market-panel.js';
import { pointInTime } from '../src/data/point-in-time.js';
import { preRebalanceChecks } from '../src/validation/checks.js';

const DATE = '2024-03-01';
const fresh = { sep_base_latest: DATE, feat_matrix_latest: DATE, regime_latest: null } as const;

/** One session of `alphas.length` liquid names; `sectors[i]` defaults to a rotation over three. */
function market(alphas: readonly number[], sectors?: readonly (string | null)[]) {
  const n = alphas.length;
  const tickers = Array.from({ length: n }, (_, i) => `T${String(i).padStart(4, '0')}`);
  const filled = (value: number) => new Float64Array(n).fill(value);
  const panel = createMarketPanel({
    tickers,
    sectors: sectors ?? tickers.map((_, i) => ['Energy', 'Financials', 'Utilities'][i % 3]!),
    dates: [DATE],
    fields: { open: filled(10), close: filled(10), volume: filled(1e6), alpha: Float64Array.from(alphas), volBlend: filled(0.2), adv20: filled(5e6) },
  });
  return pointInTime(panel, DATE);
}

/** The seed's definition, with a full sort: (p90 − p10) / std, linear interpolation between order statistics. */
function referenceSpread(alphas: readonly number[]): number {
  const values = alphas.filter(Number.isFinite);
  const sorted = [...values].sort((a, b) => a - b);
  const quantile = (q: number) => {
    const pos = (sorted.length - 1) * q;
    return sorted[Math.floor(pos)]! + (sorted[Math.ceil(pos)]! - sorted[Math.floor(pos)]!) * (pos - Math.floor(pos));
  };
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1));
  return (quantile(0.9) - quantile(0.1)) / std;
}

function spreadAlert(alphas: readonly number[], minSpread: number) {
  const config = validationConfigSchema.parse({ min_universe: 1, healthy_universe: 1, expected_sectors: 1, max_sector_share: 1, min_alpha_std: 0, min_alpha_spread: minSpread });
  return preRebalanceChecks(DATE, fresh, market(alphas), config).find((a) => a.check === 'signal.alpha_spread');
}

describe('pre-rebalance signal checks', () => {
  it.each([
    ['two names', [0.5, -1]],
    ['three names', [3, 1, 2]],
    ['eleven names with ties and a missing alpha', [1, 1, 1, 2, Number.NaN, -3, 0.5, 0.5, 7, -0, 0]],
    ['a hundred names', Array.from({ length: 100 }, (_, i) => Math.sin(i * 7.3) * (1 + (i % 9)))],
  ])('measures the alpha spread as a sorted list would (%s)', (_name, alphas) => {
    const spread = referenceSpread(alphas);
    // Just above the spread warns and reports it; at the spread it does not.
    expect(spreadAlert(alphas, spread + 1e-9)?.message).toBe(`top-bottom alpha spread ${spread.toFixed(2)} std < ${spread + 1e-9}`);
    expect(spreadAlert(alphas, spread)).toBeUndefined();
  });
});

describe('pre-rebalance universe checks', () => {
  it('counts sectors of the liquid names and names each over-represented sector, largest first', () => {
    const sectors = ['Energy', 'Energy', 'Energy', 'Utilities', 'Utilities', 'Utilities', 'Financials', null];
    const config = validationConfigSchema.parse({ min_universe: 1, healthy_universe: 1, expected_sectors: 4, max_sector_share: 0.3, min_alpha_std: 0, min_alpha_spread: 0 });
    const alerts = preRebalanceChecks(DATE, fresh, market([1, 2, 3, 4, 5, 6, 7, 8], sectors), config);
    expect(alerts.filter((a) => a.check.startsWith('universe.')).map((a) => a.message)).toEqual([
      '3 sectors represented; 4 expected',
      'Energy is 42.9% of the universe (max 30%)',
      'Utilities is 42.9% of the universe (max 30%)',
    ]);
  });
});
