import { orderStatistics } from '../../src/core/order-statistics.js';
import { pairwiseCorrelation } from '../../src/clustering/correlation.js';
import { columnMoments as kernelColumnMoments } from '../../src/kernels/kernels.js';
import { DataError } from '../../src/core/errors.js';
import type { PointInTimeMarket } from '../../src/data/panel.js';
import type { ClusterParams } from './params.js';

/** Names left out at D, each counted under the first rule it fails. */
export interface Exclusions {
  readonly noClose: number;
  readonly belowMinAdv: number;
  readonly fewObservations: number;
  readonly flatReturns: number;
}

/** The names the strategy clusters at D with what it knows about each, indexed 0…n−1 in ticker order. */
export interface ClusterUniverse {
  /** Column of each name in `market.tickers`, ascending. */
  readonly columns: Int32Array;
  readonly tickers: readonly string[];
  /** Risk-adjusted score: mean daily return / sample std over the window's finite returns. */
  readonly scores: Float64Array;
  /** Pairwise-complete correlation of daily returns, n × n row-major. */
  readonly correlation: Float64Array;
  /** Eligible names before the liquidity pre-filter. */
  readonly eligible: number;
  readonly excluded: Exclusions;
}

/**
 * Eligible at D: a close at D (a name that stopped trading cannot be traded into), adv_20 ≥
 * min_adv (NaN fails), at least min_observations finite returns in the window and a non-zero std.
 * The `candidates` most liquid eligible names (adv_20 descending, ties by ticker) are clustered,
 * plus every eligible holding: a name that slips from 300th to 301st by liquidity is no reason to
 * sell it.
 */
export function clusterUniverse(market: PointInTimeMarket, params: ClusterParams, held: ReadonlySet<string>): ClusterUniverse {
  if (market.history < params.window + 1) {
    throw new DataError(
      `cluster at ${market.date}: needs ${params.window} daily returns (${params.window + 1} sessions of closes) but the history holds ` +
        `${market.history} session(s); load at least ${params.window + 1} sessions up to the first date`,
    );
  }
  const width = market.tickers.length;
  const returns = market.returns(params.window);
  const moments = columnMoments(returns, params.window, width);
  const close = market.field('close');
  const adv20 = market.field('adv20');

  const eligible: number[] = [];
  let noClose = 0;
  let belowMinAdv = 0;
  let fewObservations = 0;
  let flatReturns = 0;
  for (let i = 0; i < width; i++) {
    if (!Number.isFinite(close[i]!)) noClose++;
    else if (!(adv20[i]! >= params.min_adv)) belowMinAdv++;
    else if (moments.observations[i]! < params.min_observations) fewObservations++;
    else if (!(moments.std[i]! > 0)) flatReturns++;
    else eligible.push(i);
  }

  const chosen = mostLiquid(eligible, adv20, params.candidates);
  for (const i of eligible) if (held.has(market.tickers[i]!)) chosen.add(i);
  const columns = Int32Array.from([...chosen].sort((a, b) => a - b));

  const scores = new Float64Array(columns.length);
  columns.forEach((column, k) => {
    scores[k] = moments.mean[column]! / moments.std[column]!;
  });
  return {
    columns,
    tickers: Array.from(columns, (column) => market.tickers[column]!),
    scores,
    correlation: pairwiseCorrelation(returns, params.window, width, columns),
    eligible: eligible.length,
    excluded: { noClose, belowMinAdv, fewObservations, flatReturns },
  };
}

/**
 * The `count` names of `eligible` (ascending indices) with the largest adv_20, ties to the lower
 * index: what sorting by (adv_20 descending, index) and keeping the first `count` gives, in O(n)
 * by selecting the count-th largest adv_20 instead of sorting them all.
 */
export function mostLiquid(eligible: readonly number[], adv20: Float64Array, count: number): Set<number> {
  if (eligible.length <= count) return new Set(eligible);
  const values = Float64Array.from(eligible, (i) => adv20[i]!);
  const [threshold] = orderStatistics(values, [eligible.length - count]);
  const chosen = new Set<number>();
  for (const i of eligible) if (adv20[i]! > threshold!) chosen.add(i);
  // Names at the threshold fill what is left, lowest index first (eligible is ascending).
  for (const i of eligible) {
    if (chosen.size === count) break;
    if (adv20[i] === threshold) chosen.add(i);
  }
  return chosen;
}

interface ColumnMoments {
  readonly observations: Int32Array;
  readonly mean: Float64Array;
  /** Sample std (n − 1); NaN with fewer than 2 returns. */
  readonly std: Float64Array;
}

/** Mean first, then centred squares: the SIMD column kernel sums each name in session order. */
function columnMoments(returns: Float64Array, sessions: number, width: number): ColumnMoments {
  const { observations, means, sumSquares } = kernelColumnMoments(returns, sessions, width, { counted: 'finite', emptyMean: Number.NaN, fourthPowers: false });
  const std = new Float64Array(width);
  for (let i = 0; i < width; i++) std[i] = observations[i]! >= 2 ? Math.sqrt(sumSquares[i]! / (observations[i]! - 1)) : Number.NaN;
  return { observations, mean: means, std };
}
