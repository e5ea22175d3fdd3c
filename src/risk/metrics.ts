import type { PointInTimeMarket } from '../data/panel.js';
import type { RiskConfig } from './config.js';
import { oneWayTurnover } from './turnover.js';
import { liquidUniverse } from './universe.js';
import { annualisedVol, bookReturnProfile, shrunkDailyVariance, trailingReturns } from './volatility.js';

/** Sector label for names without one in `sector_concentration`. */
export const NO_SECTOR = '(none)';
const TOP_NAMES = 5;

export interface PortfolioMetricsInput {
  readonly weights: Float64Array;
  readonly prior: Float64Array | null;
  readonly market: PointInTimeMarket;
  /** Supplies vol_window and shrinkage (same estimate as the risk stage) and the index universe. */
  readonly config: RiskConfig;
}

/** The `portfolio` and `metrics` blocks of portfolio_summary.json (seed §5.3). */
export interface PortfolioMetrics {
  readonly n_positions: number;
  /** Σw (net). */
  readonly total_weight: number;
  /** Σ of the five largest |w|. */
  readonly top_5_weight: number;
  /** Sector → Σw, in order of weight descending then name (insertion order of the keys). */
  readonly sector_concentration: Readonly<Record<string, number>>;
  /** cov(r_p, r_m)/var(r_m) against the equal-weight index of the universe; null when var(r_m) = 0. */
  readonly estimated_beta: number | null;
  /** Annualised, from the risk stage's shrunk covariance. */
  readonly estimated_vol: number;
  /**
   * adv_20 averaged with |w| as weights over held names: it answers "how liquid is the capital",
   * which a simple mean over names (a 0.1% tail name counting like a 3% one) does not.
   * null when no held name has an adv_20.
   */
  readonly avg_adv: number | null;
  /** ½Σ|w − prior|; 0 without a prior. */
  readonly turnover_vs_prior: number;
}

export function portfolioMetrics({ weights, prior, market, config }: PortfolioMetricsInput): PortfolioMetrics {
  if (weights.length !== market.tickers.length) {
    throw new RangeError(`weights has ${weights.length} entries for ${market.tickers.length} tickers`);
  }
  const returns = trailingReturns(market, config.vol_window);
  const profile = bookReturnProfile(returns, config.vol_window, weights);
  const index = equalWeightIndex(returns, config.vol_window, liquidUniverse(market, config.sector_universe_min_adv));
  let positions = 0;
  let total = 0;
  for (let i = 0; i < weights.length; i++) {
    if (weights[i] !== 0) positions++;
    total += weights[i]!;
  }
  return {
    n_positions: positions,
    total_weight: total,
    top_5_weight: largestAbsoluteSum(weights, TOP_NAMES),
    sector_concentration: sectorConcentration(weights, market.sectors),
    estimated_beta: beta(profile.demeanedReturns, index),
    estimated_vol: annualisedVol(shrunkDailyVariance(profile, config.shrinkage)),
    avg_adv: weightedAdv(weights, market.field('adv20')),
    turnover_vs_prior: prior ? oneWayTurnover(prior, weights) : 0,
  };
}

function largestAbsoluteSum(weights: Float64Array, count: number): number {
  const sizes = Float64Array.from(weights, Math.abs).sort();
  let sum = 0;
  for (let k = Math.max(0, sizes.length - count); k < sizes.length; k++) sum += sizes[k]!;
  return sum;
}

function sectorConcentration(weights: Float64Array, sectors: readonly (string | null)[]): Record<string, number> {
  const bySector = new Map<string, number>();
  for (let i = 0; i < weights.length; i++) {
    if (weights[i] === 0) continue;
    const sector = sectors[i] ?? NO_SECTOR;
    bySector.set(sector, (bySector.get(sector) ?? 0) + weights[i]!);
  }
  const ordered = [...bySector].sort(([a, wa], [b, wb]) => wb - wa || (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(ordered);
}

/** Mean return per session over universe names with a return; sessions without any get the window mean. */
function equalWeightIndex(returns: Float64Array, sessions: number, universe: Uint8Array): Float64Array {
  const n = universe.length;
  const index = new Float64Array(sessions).fill(Number.NaN);
  let sum = 0;
  let observed = 0;
  for (let t = 0; t < sessions; t++) {
    let rowSum = 0;
    let count = 0;
    for (let i = 0; i < n; i++) {
      const r = returns[t * n + i]!;
      if (universe[i] === 1 && !Number.isNaN(r)) {
        rowSum += r;
        count++;
      }
    }
    if (count > 0) {
      index[t] = rowSum / count;
      sum += index[t]!;
      observed++;
    }
  }
  const mean = observed > 0 ? sum / observed : 0;
  for (let t = 0; t < sessions; t++) if (Number.isNaN(index[t]!)) index[t] = mean;
  return index;
}

/** `book` is already demeaned, so Σ book_t (m_t − m̄) is its covariance numerator. */
function beta(book: Float64Array, index: Float64Array): number | null {
  let mean = 0;
  for (let t = 0; t < index.length; t++) mean += index[t]!;
  mean /= index.length;
  let covariance = 0;
  let variance = 0;
  for (let t = 0; t < index.length; t++) {
    const m = index[t]! - mean;
    covariance += book[t]! * m;
    variance += m * m;
  }
  return variance > 0 ? covariance / variance : null;
}

function weightedAdv(weights: Float64Array, adv20: Float64Array): number | null {
  let weighted = 0;
  let weightSum = 0;
  for (let i = 0; i < weights.length; i++) {
    const w = Math.abs(weights[i]!);
    if (w === 0 || !Number.isFinite(adv20[i]!)) continue;
    weighted += w * adv20[i]!;
    weightSum += w;
  }
  return weightSum > 0 ? weighted / weightSum : null;
}
